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

    // ---- immutable claim --------------------------------------------------------------------

    IStepVerifier public immutable verifier;
    address public immutable proposer;
    bytes32 public immutable absolutePreState;
    bytes32 public immutable claim;
    uint64 public immutable traceLength;
    uint64 public immutable clockSeconds;
    uint256 public immutable proposerBond;
    uint64 public immutable createdAt;

    // ---- game state -------------------------------------------------------------------------

    Status public status;
    Reason public reason;
    address public challenger;
    uint256 public challengerBond;
    uint64 public lo;
    uint64 public hi;
    uint64 public proposerClock;
    uint64 public challengerClock;
    uint64 public lastMoveAt;
    bool public midPosted;
    bytes32 public hashLo;
    bytes32 public hashHi;
    bytes32 public midHash;
    mapping(address => uint256) public credit;

    constructor(
        IStepVerifier verifier_,
        address proposer_,
        bytes32 absolutePreState_,
        bytes32 claim_,
        uint64 traceLength_,
        uint64 clockSeconds_
    ) payable {
        if (traceLength_ == 0) revert EmptyTrace();
        if (clockSeconds_ == 0) revert ZeroClock();
        verifier = verifier_;
        proposer = proposer_;
        absolutePreState = absolutePreState_;
        claim = claim_;
        traceLength = traceLength_;
        clockSeconds = clockSeconds_;
        proposerBond = msg.value;
        createdAt = uint64(block.timestamp);
        lastMoveAt = uint64(block.timestamp);
        proposerClock = clockSeconds_; // the clocks start when a challenge comes
        challengerClock = clockSeconds_;
        hi = traceLength_; // the disputed interval, should a challenge come: [0, N]
        hashLo = absolutePreState_;
        hashHi = claim_;
    }

    // ---- moves ------------------------------------------------------------------------------

    /// @notice Dispute the claim, with a bond at least the proposer's, within the challenge
    ///         window (clockSeconds after creation). Starts both chess clocks full.
    function challenge() external payable {
        if (status != Status.Unchallenged) {
            if (status == Status.InProgress) revert NotChallengeable();
            revert GameOver();
        }
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
        _requireBisecting();
        if (msg.sender != proposer || midPosted) revert NotYourTurn(_turnAddress());
        _requirePosition(position);
        _charge(Party.Proposer);
        midPosted = true;
        midHash = stateHash;
        emit Bisected(
            position, stateHash, lo, hi, proposerClock, challengerClock, lastMoveAt
        );
    }

    /// @notice The challenger answers the posted midpoint: agree moves lo up, disagree moves
    ///         hi down.
    function respond(uint64 position, bool agree) external {
        _requireBisecting();
        if (msg.sender != challenger || !midPosted) revert NotYourTurn(_turnAddress());
        _requirePosition(position);
        _charge(Party.Challenger);
        if (agree) {
            lo = position;
            hashLo = midHash;
        } else {
            hi = position;
            hashHi = midHash;
        }
        midPosted = false;
        midHash = bytes32(0);
        emit Responded(position, agree, lo, hi, proposerClock, challengerClock, lastMoveAt);
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
        _charge(Party.Challenger); // the challenger's clock runs in the step phase
        bytes32 post = verifier.stepFrom(hashLo, witness, proof);
        emit StepProven(
            msg.sender, lo, hashLo, hashHi, post, proposerClock, challengerClock, lastMoveAt
        );
        _resolve(post == hashHi ? Party.Proposer : Party.Challenger, Reason.Step);
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
        v.hashLo = hashLo;
        v.hashHi = hashHi;
        v.midPosted = midPosted;
        v.midHash = midHash;
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

    function _turnAddress() internal view returns (address) {
        return _turn() == Party.Proposer ? proposer : challenger;
    }

    function _requireInProgress() internal view {
        if (status == Status.Unchallenged) revert NotChallenged();
        if (status != Status.InProgress) revert GameOver();
    }

    function _requireBisecting() internal view {
        _requireInProgress();
        if (hi - lo == 1) revert BisectionOver();
    }

    function _requirePosition(uint64 position) internal view {
        uint64 mid = lo + (hi - lo) / 2;
        if (position != mid) revert WrongPosition(mid, position);
    }

    /// @dev Stops `party`'s running clock at this block: reverts if it has expired.
    function _charge(Party party) internal {
        uint256 elapsed = block.timestamp - lastMoveAt;
        if (party == Party.Proposer) {
            if (elapsed > proposerClock) revert ClockExpired();
            proposerClock -= uint64(elapsed);
        } else {
            if (elapsed > challengerClock) revert ClockExpired();
            challengerClock -= uint64(elapsed);
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
