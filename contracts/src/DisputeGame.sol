// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IStepVerifier} from "./IStepVerifier.sol";

/// @title DisputeGame
/// @notice One bisection game over one claim: "running the program from `absolutePreState` for
///         `traceLength` steps yields the state hash `claim`". The proposer (who created the
///         game through the factory) bisects, a challenger answers, until both agree at step
///         `lo` and disagree at `lo + 1`; then the verifier executes that single step.
///         The protocol, the clock and the bond rules are specified in docs/game.md.
///
/// Clocks: each party has a chess clock of `clockSeconds`; only the clock of the party to move
/// runs (measured in block.timestamp seconds since the previous move). A move made when
/// exactly the remaining time has elapsed is still on time; one second more and the clock has
/// expired: the only valid call is then `timeout()`, by anyone, and the other party wins.
///
/// Bonds: both bonds go to the winner, pushed in the resolving transaction after all state is
/// final (checks-effects-interactions: a re-entering winner finds the game over). If the push
/// fails (a contract winner that rejects ether), the amount is credited and the winner pulls
/// it with `withdraw()`, so a hostile winner can never block the resolution itself.
///
/// Deployment: the factory deploys one DisputeGame as the implementation and creates each game
/// as an EIP-1167 minimal proxy to it (a 45-byte clone that delegates every call), then calls
/// `initialize` once to bind the claim. Only the factory may initialize, and only once; the
/// implementation itself is never initialized, so it is not a game (`NotInitialized`).
///
/// Storage is laid out for the bisection's hot path: a bisect touches two packed slots plus
/// the slot it writes the posted hash to, a respond three packed slots and no hash at all
/// (see `hashes`).
contract DisputeGame {
    enum Status {
        Unchallenged, // created, challenge window open (or passed, awaiting resolve())
        InProgress, // challenged, bisecting or in the step phase
        ProposerWon,
        ChallengerWon
    }

    enum Party {
        None,
        Proposer,
        Challenger
    }

    enum Reason {
        None,
        Unchallenged, // the challenge window passed without a challenge
        Step, // the verifier executed the disputed step
        Timeout // the party to move ran out of clock
    }

    /// @notice Everything an agent needs to decide its next move, in one call.
    struct View {
        Status status;
        Reason reason; // why it was resolved (None until then)
        Party turn; // whose clock runs (Challenger in the step phase); None unless InProgress
        uint64 lo; // both parties agree on the state hash at lo ...
        uint64 hi; // ... and disagree at hi
        bytes32 hashLo;
        bytes32 hashHi; // the proposer's hash at hi
        bool midPosted; // the proposer posted its hash at (lo + hi) / 2; the challenger answers
        bytes32 midHash;
        uint64 proposerClock; // seconds left, as of lastMoveAt (not counting the running time)
        uint64 challengerClock;
        uint64 lastMoveAt; // block.timestamp of the last move (creation before a challenge)
        uint64 timestamp; // block.timestamp of the block this view was read at
        address challenger;
        uint256 proposerBond;
    }

    // ---- errors ---------------------------------------------------------------------------

    error NotFactory(); // initialize() by anyone but the factory
    error AlreadyInitialized(); // a second initialize()
    error NotInitialized(); // a move on a contract that is not an initialized game
    error EmptyTrace(); // traceLength 0: there is no step to dispute
    error ZeroClock(); // clockSeconds 0: no party could ever move
    error GameOver(); // the game is already resolved
    error NotChallenged(); // a bisection move or timeout() before any challenge
    error NotChallengeable(); // challenge() on a game that is already challenged
    error ProposerCannotChallenge();
    error BondTooSmall(uint256 required, uint256 given);
    error ChallengeWindowOpen(uint64 closesAt); // resolve() too early
    error AlreadyChallenged(); // resolve() is for unchallenged games; use timeout() or step()
    error NotYourTurn(address expected); // wrong sender, or not the sender's move now
    error WrongPosition(uint64 expected, uint64 given);
    error BisectionOver(); // bisect/respond once hi == lo + 1
    error BisectionNotOver(); // step before hi == lo + 1
    error ClockExpired(); // the running clock (or the challenge window) has run out
    error ClockNotExpired(uint64 secondsLeft); // timeout() too early
    error NothingToWithdraw();
    error TransferFailed();

    // ---- events (one per move; every move event carries the interval and clocks after it) --

    event Challenged(
        address indexed challenger,
        uint256 bond,
        uint64 lo,
        uint64 hi,
        uint64 proposerClock,
        uint64 challengerClock,
        uint64 timestamp
    );
    event Bisected(
        uint64 position,
        bytes32 stateHash,
        uint64 lo,
        uint64 hi,
        uint64 proposerClock,
        uint64 challengerClock,
        uint64 timestamp
    );
    event Responded(
        uint64 position,
        bool agree,
        uint64 lo,
        uint64 hi,
        uint64 proposerClock,
        uint64 challengerClock,
        uint64 timestamp
    );
    event StepProven(
        address indexed submitter,
        uint64 step,
        bytes32 preStateHash,
        bytes32 claimedPostStateHash,
        bytes32 postStateHash,
        uint64 proposerClock,
        uint64 challengerClock,
        uint64 timestamp
    );
    event TimedOut(
        Party indexed loser, uint64 proposerClock, uint64 challengerClock, uint64 timestamp
    );
    event Resolved(
        address indexed winner, Party party, Reason reason, uint256 payout, uint64 timestamp
    );
    event BondPaid(address indexed to, uint256 amount);
    event BondCredited(address indexed to, uint256 amount);
    event Withdrawn(address indexed to, uint256 amount);

    // ---- shared by every clone (immutables live in the implementation's code) -------------

    IStepVerifier public immutable verifier;
    address public immutable factory;

    // ---- game state (packed: the comments name the slots) ------------------------------------

    // slot 0: the interval and the clocks, read and written by every move
    uint64 public lo; // both parties agree on the state hash at lo ...
    uint64 public hi; // ... and disagree at hi
    uint64 public proposerClock; // seconds left, as of lastMoveAt
    uint64 public challengerClock;
    // slot 1: the proposer's side of a move
    address public proposer;
    uint64 public lastMoveAt;
    Status public status;
    bool public midPosted;
    uint8 internal loIndex; // hashes[loIndex] is the agreed hash at lo
    uint8 internal hiIndex; // hashes[hiIndex] is the proposer's hash at hi
    // slot 2: the challenger's side of a move
    address public challenger;
    uint64 public clockSeconds;
    Reason public reason;
    // slot 3: the rest of the claim
    uint64 public traceLength;
    uint64 public createdAt;

    uint256 public proposerBond;
    uint256 public challengerBond;
    bytes32 public absolutePreState;
    bytes32 public claim;
    /// @dev The hashes at lo and hi and the posted midpoint's, at the indices loIndex, hiIndex
    ///      and the remaining one (a permutation of 0, 1, 2). A response makes the midpoint's
    ///      hash the new lo or hi hash by taking over its index, instead of copying it; the
    ///      slot it frees holds the next midpoint.
    bytes32[3] internal hashes;
    mapping(address => uint256) public credit;

    /// @notice Deploys the implementation, which is not a game: the factory clones it.
    constructor(IStepVerifier verifier_) {
        verifier = verifier_;
        factory = msg.sender;
    }

    /// @notice Binds a fresh clone to its claim (the factory calls it once, in `create`); the
    ///         proposer's bond is msg.value. Before a challenge the interval already reads
    ///         [0, N], with both clocks full.
    function initialize(
        address proposer_,
        bytes32 absolutePreState_,
        bytes32 claim_,
        uint64 traceLength_,
        uint64 clockSeconds_
    ) external payable {
        if (msg.sender != factory) revert NotFactory();
        if (proposer != address(0)) revert AlreadyInitialized();
        if (traceLength_ == 0) revert EmptyTrace();
        if (clockSeconds_ == 0) revert ZeroClock();
        hi = traceLength_;
        proposerClock = clockSeconds_; // the clocks start when a challenge comes
        challengerClock = clockSeconds_;
        proposer = proposer_;
        lastMoveAt = uint64(block.timestamp);
        hiIndex = 1;
        clockSeconds = clockSeconds_;
        traceLength = traceLength_;
        createdAt = uint64(block.timestamp);
        proposerBond = msg.value;
        absolutePreState = absolutePreState_;
        claim = claim_;
        hashes[0] = absolutePreState_;
        hashes[1] = claim_;
    }

    // ---- moves ------------------------------------------------------------------------------

    /// @notice Dispute the claim, with a bond at least the proposer's, within the challenge
    ///         window (clockSeconds after creation). Starts both chess clocks full.
    function challenge() external payable {
        if (status != Status.Unchallenged) {
            if (status == Status.InProgress) revert NotChallengeable();
            revert GameOver();
        }
        if (proposer == address(0)) revert NotInitialized();
        if (msg.sender == proposer) revert ProposerCannotChallenge();
        if (block.timestamp > uint256(createdAt) + clockSeconds) revert ClockExpired();
        if (msg.value < proposerBond) revert BondTooSmall(proposerBond, msg.value);
        status = Status.InProgress;
        challenger = msg.sender;
        challengerBond = msg.value;
        lastMoveAt = uint64(block.timestamp);
        emit Challenged(
            msg.sender, msg.value, 0, traceLength, clockSeconds, clockSeconds, lastMoveAt
        );
    }

    /// @notice The proposer posts its state hash at `position`, which must be (lo + hi) / 2.
    function bisect(uint64 position, bytes32 stateHash) external {
        (uint64 lo_, uint64 hi_) = _bisectingInterval();
        if (msg.sender != proposer || midPosted) revert NotYourTurn(_turnAddress());
        _requirePosition(lo_, hi_, position);
        (uint64 proposerLeft, uint64 challengerLeft) = _charge(Party.Proposer);
        midPosted = true;
        hashes[_midIndex()] = stateHash;
        emit Bisected(
            position, stateHash, lo_, hi_, proposerLeft, challengerLeft, uint64(block.timestamp)
        );
    }

    /// @notice The challenger answers the posted midpoint: agree moves lo up, disagree moves
    ///         hi down.
    function respond(uint64 position, bool agree) external {
        (uint64 lo_, uint64 hi_) = _bisectingInterval();
        if (msg.sender != challenger || !midPosted) revert NotYourTurn(_turnAddress());
        _requirePosition(lo_, hi_, position);
        (uint64 proposerLeft, uint64 challengerLeft) = _charge(Party.Challenger);
        uint8 mid = _midIndex(); // the posted hash becomes the agreed or the disputed one
        if (agree) {
            lo = lo_ = position;
            loIndex = mid;
        } else {
            hi = hi_ = position;
            hiIndex = mid;
        }
        midPosted = false;
        emit Responded(
            position, agree, lo_, hi_, proposerLeft, challengerLeft, uint64(block.timestamp)
        );
    }

    /// @notice Either party executes the disputed step lo -> hi on the verifier. The proposer
    ///         wins iff the verified post-state equals its hash at hi. A proof the verifier
    ///         rejects reverts the whole call (with the verifier's error) and changes nothing.
    function step(bytes calldata witness, bytes calldata proof) external {
        _requireInProgress();
        if (hi - lo != 1) revert BisectionNotOver();
        if (msg.sender != proposer && msg.sender != challenger) {
            revert NotYourTurn(challenger);
        }
        // the challenger's clock runs in the step phase
        (uint64 proposerLeft, uint64 challengerLeft) = _charge(Party.Challenger);
        bytes32 pre = hashLo();
        bytes32 claimed = hashHi();
        bytes32 post = verifier.stepFrom(pre, witness, proof);
        emit StepProven(
            msg.sender,
            lo,
            pre,
            claimed,
            post,
            proposerLeft,
            challengerLeft,
            uint64(block.timestamp)
        );
        _resolve(post == claimed ? Party.Proposer : Party.Challenger, Reason.Step);
    }

    /// @notice Anyone ends a challenged game whose running clock has expired: the party that
    ///         was to move loses.
    function timeout() external {
        _requireInProgress();
        Party running = _turn();
        uint256 elapsed = block.timestamp - lastMoveAt;
        uint64 left = running == Party.Proposer ? proposerClock : challengerClock;
        if (elapsed <= left) revert ClockNotExpired(uint64(left - elapsed));
        if (running == Party.Proposer) proposerClock = 0;
        else challengerClock = 0;
        lastMoveAt = uint64(block.timestamp);
        emit TimedOut(running, proposerClock, challengerClock, lastMoveAt);
        _resolve(running == Party.Proposer ? Party.Challenger : Party.Proposer, Reason.Timeout);
    }

    /// @notice Anyone resolves an unchallenged game for the proposer once the challenge
    ///         window (clockSeconds after creation) has passed.
    function resolve() external {
        if (status == Status.InProgress) revert AlreadyChallenged();
        if (status != Status.Unchallenged) revert GameOver();
        if (proposer == address(0)) revert NotInitialized();
        uint256 closesAt = uint256(createdAt) + clockSeconds;
        if (block.timestamp <= closesAt) revert ChallengeWindowOpen(uint64(closesAt));
        _resolve(Party.Proposer, Reason.Unchallenged);
    }

    /// @notice Pull a bond payment whose push failed (the winner rejected ether).
    function withdraw() external {
        uint256 amount = credit[msg.sender];
        if (amount == 0) revert NothingToWithdraw();
        credit[msg.sender] = 0;
        emit Withdrawn(msg.sender, amount);
        (bool ok,) = msg.sender.call{value: amount}("");
        if (!ok) revert TransferFailed();
    }

    // ---- views ------------------------------------------------------------------------------

    /// @notice The party whose clock runs: Proposer to bisect, Challenger to respond or, in the
    ///         step phase, to prove the proposer wrong. None unless the game is in progress.
    function turn() external view returns (Party) {
        return status == Status.InProgress ? _turn() : Party.None;
    }

    /// @notice Seconds left on each clock at this block, counting the running one down.
    function clocks() external view returns (uint64 proposerLeft, uint64 challengerLeft) {
        proposerLeft = proposerClock;
        challengerLeft = challengerClock;
        if (status != Status.InProgress) return (proposerLeft, challengerLeft);
        uint256 elapsed = block.timestamp - lastMoveAt;
        if (_turn() == Party.Proposer) {
            proposerLeft = elapsed >= proposerLeft ? 0 : uint64(proposerLeft - elapsed);
        } else {
            challengerLeft = elapsed >= challengerLeft ? 0 : uint64(challengerLeft - elapsed);
        }
    }

    /// @notice The agreed state hash at lo (absolutePreState until a response agrees).
    function hashLo() public view returns (bytes32) {
        return hashes[loIndex];
    }

    /// @notice The proposer's state hash at hi (its claim until a response disagrees).
    function hashHi() public view returns (bytes32) {
        return hashes[hiIndex];
    }

    /// @notice The proposer's hash at the midpoint while posted, else zero.
    function midHash() public view returns (bytes32) {
        return midPosted ? hashes[_midIndex()] : bytes32(0);
    }

    /// @notice The winner's address once resolved, else address(0).
    function winner() external view returns (address) {
        if (status == Status.ProposerWon) return proposer;
        if (status == Status.ChallengerWon) return challenger;
        return address(0);
    }

    /// @notice All of the mutable game state in one call (what agents read per decision).
    function gameState() external view returns (View memory v) {
        v.status = status;
        v.reason = reason;
        v.turn = status == Status.InProgress ? _turn() : Party.None;
        v.lo = lo;
        v.hi = hi;
        v.hashLo = hashLo();
        v.hashHi = hashHi();
        v.midPosted = midPosted;
        v.midHash = midHash();
        v.proposerClock = proposerClock;
        v.challengerClock = challengerClock;
        v.lastMoveAt = lastMoveAt;
        v.timestamp = uint64(block.timestamp);
        v.challenger = challenger;
        v.proposerBond = proposerBond;
    }

    // ---- internals --------------------------------------------------------------------------

    function _turn() internal view returns (Party) {
        if (hi - lo > 1 && !midPosted) return Party.Proposer;
        return Party.Challenger;
    }

    function _midIndex() internal view returns (uint8) {
        return 3 - loIndex - hiIndex;
    }

    function _turnAddress() internal view returns (address) {
        return _turn() == Party.Proposer ? proposer : challenger;
    }

    function _requireInProgress() internal view {
        if (status == Status.Unchallenged) revert NotChallenged();
        if (status != Status.InProgress) revert GameOver();
    }

    /// @dev The interval (lo, hi) of a game in progress that is still bisecting.
    function _bisectingInterval() internal view returns (uint64 lo_, uint64 hi_) {
        _requireInProgress();
        (lo_, hi_) = (lo, hi);
        if (hi_ - lo_ == 1) revert BisectionOver();
    }

    function _requirePosition(uint64 lo_, uint64 hi_, uint64 position) internal pure {
        uint64 mid = lo_ + (hi_ - lo_) / 2;
        if (position != mid) revert WrongPosition(mid, position);
    }

    /// @dev Stops `party`'s running clock at this block (reverts if it has expired); returns
    ///      both clocks after the move.
    function _charge(Party party) internal returns (uint64 proposerLeft, uint64 challengerLeft) {
        uint256 elapsed = block.timestamp - lastMoveAt;
        (proposerLeft, challengerLeft) = (proposerClock, challengerClock);
        if (party == Party.Proposer) {
            if (elapsed > proposerLeft) revert ClockExpired();
            proposerClock = proposerLeft -= uint64(elapsed);
        } else {
            if (elapsed > challengerLeft) revert ClockExpired();
            challengerClock = challengerLeft -= uint64(elapsed);
        }
        lastMoveAt = uint64(block.timestamp);
    }

    /// @dev The one resolution: state first, then the bond transfer (see the contract notes).
    function _resolve(Party winningParty, Reason why) internal {
        status = winningParty == Party.Proposer ? Status.ProposerWon : Status.ChallengerWon;
        reason = why;
        address to = winningParty == Party.Proposer ? proposer : challenger;
        uint256 payout = proposerBond + challengerBond;
        emit Resolved(to, winningParty, why, payout, uint64(block.timestamp));
        if (payout == 0) return;
        (bool ok,) = to.call{value: payout}("");
        if (ok) {
            emit BondPaid(to, payout);
        } else {
            credit[to] += payout;
            emit BondCredited(to, payout);
        }
    }
}
