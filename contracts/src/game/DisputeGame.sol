// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IStepVerifier} from "../IStepVerifier.sol";

/// @title DisputeGame
/// @notice One claim, "running the program from `absolutePreState` for `traceLength` steps on
///         VM `vm` yields the state hash `claim`", and any number of challenges against it.
///         The protocol, the clocks, the bonds and their bounds are specified in docs/game.md.
///
/// Permissionless: anyone but the proposer may challenge while the window (clockSeconds after
/// creation) is open, each with its own bond, and each challenge is its own bisection with
/// its own two chess clocks, played side by side with the others. A claim is tied to its
/// value, not to who challenged first: a sybil that challenges first and throws its game
/// cannot keep an honest challenger out. The claim is rejected as soon as one challenger
/// wins; it is accepted (`resolve`) only when the window has closed and every challenge has
/// been settled for the proposer. Every challenge opens by the end of the window and ends
/// within two chess clocks, so the claim settles by createdAt + 3 * clockSeconds (+1 s: a
/// clock expires one second after it reads 0), whatever the number of challengers.
///
/// Bonds are only ever credited (`credit`) and pulled with `withdraw()`, which zeroes the
/// credit before it sends: no resolution depends on a transfer, so no party can block one,
/// and re-entry cannot pay twice. Nothing here loops over challenges: a challenge still
/// running when the claim falls is closed by `reclaim(id)`, which refunds its bond.
///
/// Deployment: the factory deploys one DisputeGame as the implementation and creates each game
/// as an EIP-1167 minimal proxy to it, then calls `initialize` once to bind the claim and the
/// VM's verifier. Only the factory may initialize, and only once; the implementation itself
/// is never initialized, so it is not a game (`NotInitialized`).
contract DisputeGame {
    /// @notice The claim's status.
    enum Status {
        Unchallenged, // created, no challenge yet (window open, or passed awaiting resolve())
        InProgress, // challenged at least once, not resolved
        ProposerWon, // accepted
        ChallengerWon // rejected
    }

    /// @notice One challenge's status.
    enum ChallengeStatus {
        None, // no such challenge
        InProgress,
        ProposerWon,
        ChallengerWon,
        Moot // the claim fell through another challenge while this one was running
    }

    enum Party {
        None,
        Proposer,
        Challenger
    }

    enum Reason {
        None,
        Unchallenged, // claim: the window passed without a challenge
        Step, // the verifier executed the disputed step
        Timeout, // the party to move ran out of clock
        Defended, // claim: every challenge was settled for the proposer
        Moot // challenge: closed unsettled because the claim fell through another one
    }

    /// @notice Everything an agent needs to decide its next move in one challenge.
    struct ChallengeView {
        ChallengeStatus status;
        Reason reason;
        Party turn; // whose clock runs (Challenger in the step phase); None unless InProgress
        uint64 lo; // both parties agree on the state hash at lo ...
        uint64 hi; // ... and disagree at hi
        bytes32 hashLo;
        bytes32 hashHi; // the proposer's hash at hi
        bool midPosted;
        bytes32 midHash;
        uint64 proposerClock; // seconds left, as of lastMoveAt
        uint64 challengerClock;
        uint64 lastMoveAt;
        uint64 timestamp; // block.timestamp of the block this view was read at
        address challenger;
        uint256 bond;
    }

    /// @dev One bisection. Slot A is read and written by every move, slot B holds the
    ///      challenger's side, slot C the bond; the three hashes as in the single game before:
    ///      hashes[loIndex] at lo, hashes[hiIndex] at hi, the third the posted midpoint's.
    struct Challenge {
        uint64 lo;
        uint64 hi;
        uint64 proposerClock;
        uint64 challengerClock;
        address challenger;
        uint64 lastMoveAt;
        ChallengeStatus status;
        bool midPosted;
        uint8 loIndex;
        uint8 hiIndex;
        uint128 bond;
        Reason reason;
        bytes32[3] hashes;
    }

    // ---- errors ---------------------------------------------------------------------------

    error NotFactory(); // initialize() by anyone but the factory
    error AlreadyInitialized(); // a second initialize()
    error NotInitialized(); // a call on a contract that is not an initialized game
    error EmptyTrace(); // traceLength 0: there is no step to dispute
    error ZeroClock(); // clockSeconds 0: no party could ever move
    error NoVerifier(); // initialize() without a verifier
    error GameOver(); // the claim is already resolved
    error ProposerCannotChallenge();
    error BondTooSmall(uint256 required, uint256 given);
    error BondTooLarge(); // a challenge bond must fit 128 bits
    error ChallengeWindowClosed(uint64 closedAt); // challenge() after the window
    error ChallengeWindowOpen(uint64 closesAt); // resolve() too early
    error ChallengesPending(uint64 open); // resolve() while challenges are running
    error NoSuchChallenge(uint256 id);
    error ChallengeOver(uint256 id); // a move in a challenge already settled
    error ClaimNotRejected(); // reclaim() while the claim stands
    error NotYourTurn(address expected); // wrong sender, or not the sender's move now
    error WrongPosition(uint64 expected, uint64 given);
    error BisectionOver(); // bisect/respond once hi == lo + 1
    error BisectionNotOver(); // step before hi == lo + 1
    error WrongVm(uint32 expected, uint32 given); // a step proof made for another VM
    error ClockExpired(); // the running clock has run out
    error ClockNotExpired(uint64 secondsLeft); // timeout() too early
    error NothingToWithdraw();
    error TransferFailed();

    // ---- events (every move event names its challenge, the interval and clocks after it) --

    event Challenged(
        uint256 indexed id,
        address indexed challenger,
        uint256 bond,
        uint64 lo,
        uint64 hi,
        uint64 proposerClock,
        uint64 challengerClock,
        uint64 timestamp
    );
    event Bisected(
        uint256 indexed id,
        uint64 position,
        bytes32 stateHash,
        uint64 lo,
        uint64 hi,
        uint64 proposerClock,
        uint64 challengerClock,
        uint64 timestamp
    );
    event Responded(
        uint256 indexed id,
        uint64 position,
        bool agree,
        uint64 lo,
        uint64 hi,
        uint64 proposerClock,
        uint64 challengerClock,
        uint64 timestamp
    );
    event StepProven(
        uint256 indexed id,
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
        uint256 indexed id,
        Party indexed loser,
        uint64 proposerClock,
        uint64 challengerClock,
        uint64 timestamp
    );
    /// @notice A challenge is settled (winner None and reason Moot for a moot one).
    event ChallengeResolved(
        uint256 indexed id, Party winner, Reason reason, uint64 timestamp
    );
    /// @notice The claim is settled: accepted (winner = proposer) or rejected (winner = the
    ///         challenger of challenge `id`).
    event Resolved(
        address indexed winner, Party party, Reason reason, uint256 id, uint64 timestamp
    );
    event BondCredited(address indexed to, uint256 amount);
    event Withdrawn(address indexed to, uint256 amount);

    // ---- shared by every clone (immutables live in the implementation's code) -------------

    address public immutable factory;

    // ---- claim state (packed: the comments name the slots) -----------------------------------

    // slot 0: read by every move
    address public proposer;
    uint64 public createdAt;
    Status public status;
    Reason public reason;
    // slot 1
    IStepVerifier public verifier;
    uint32 public vm;
    uint64 public traceLength;
    // slot 2
    uint64 public clockSeconds;
    uint64 public openChallenges; // challenges InProgress while the claim stands
    uint64 public winningChallenge; // the challenge that rejected the claim (if rejected)
    uint256 public proposerBond;
    bytes32 public absolutePreState;
    bytes32 public claim;
    Challenge[] internal challenges;
    mapping(address => uint256) public credit;

    /// @notice Deploys the implementation, which is not a game: the factory clones it.
    constructor() {
        factory = msg.sender;
    }

    /// @notice Binds a fresh clone to its claim and its VM's verifier (the factory calls it
    ///         once, in `create`); the proposer's bond is msg.value.
    function initialize(
        address proposer_,
        uint32 vm_,
        IStepVerifier verifier_,
        bytes32 absolutePreState_,
        bytes32 claim_,
        uint64 traceLength_,
        uint64 clockSeconds_
    ) external payable {
        if (msg.sender != factory) revert NotFactory();
        if (proposer != address(0)) revert AlreadyInitialized();
        if (traceLength_ == 0) revert EmptyTrace();
        if (clockSeconds_ == 0) revert ZeroClock();
        if (address(verifier_) == address(0)) revert NoVerifier();
        proposer = proposer_;
        createdAt = uint64(block.timestamp);
        verifier = verifier_;
        vm = vm_;
        traceLength = traceLength_;
        clockSeconds = clockSeconds_;
        proposerBond = msg.value;
        absolutePreState = absolutePreState_;
        claim = claim_;
    }

    // ---- challenges -------------------------------------------------------------------------

    /// @notice Dispute the claim with a bond at least the proposer's, within the window
    ///         (clockSeconds after creation), whoever has already challenged it. Opens a new
    ///         challenge with both chess clocks full; returns its id (0, 1, ...).
    function challenge() external payable returns (uint256 id) {
        _requireOpen();
        if (msg.sender == proposer) revert ProposerCannotChallenge();
        uint256 closesAt = uint256(createdAt) + clockSeconds;
        if (block.timestamp > closesAt) revert ChallengeWindowClosed(uint64(closesAt));
        if (msg.value < proposerBond) revert BondTooSmall(proposerBond, msg.value);
        if (msg.value > type(uint128).max) revert BondTooLarge();
        id = challenges.length;
        Challenge storage c = challenges.push();
        uint64 clock = clockSeconds;
        uint64 n = traceLength;
        c.hi = n;
        c.proposerClock = clock;
        c.challengerClock = clock;
        c.challenger = msg.sender;
        c.lastMoveAt = uint64(block.timestamp);
        c.status = ChallengeStatus.InProgress;
        c.hiIndex = 1;
        c.bond = uint128(msg.value);
        c.hashes[0] = absolutePreState;
        c.hashes[1] = claim;
        openChallenges += 1;
        status = Status.InProgress;
        emit Challenged(id, msg.sender, msg.value, 0, n, clock, clock, uint64(block.timestamp));
    }

    /// @notice The proposer posts its state hash at `position`, which must be (lo + hi) / 2,
    ///         in challenge `id`.
    function bisect(uint256 id, uint64 position, bytes32 stateHash) external {
        Challenge storage c = _playing(id);
        (uint64 lo_, uint64 hi_) = _bisectingInterval(c);
        if (msg.sender != proposer || c.midPosted) revert NotYourTurn(_turnAddress(c));
        _requirePosition(lo_, hi_, position);
        (uint64 proposerLeft, uint64 challengerLeft) = _charge(c, Party.Proposer);
        c.midPosted = true;
        c.hashes[_midIndex(c)] = stateHash;
        emit Bisected(
            id, position, stateHash, lo_, hi_, proposerLeft, challengerLeft, uint64(block.timestamp)
        );
    }

    /// @notice The challenger of `id` answers the posted midpoint: agree moves lo up,
    ///         disagree moves hi down.
    function respond(uint256 id, uint64 position, bool agree) external {
        Challenge storage c = _playing(id);
        (uint64 lo_, uint64 hi_) = _bisectingInterval(c);
        if (msg.sender != c.challenger || !c.midPosted) revert NotYourTurn(_turnAddress(c));
        _requirePosition(lo_, hi_, position);
        (uint64 proposerLeft, uint64 challengerLeft) = _charge(c, Party.Challenger);
        uint8 mid = _midIndex(c);
        if (agree) {
            c.lo = lo_ = position;
            c.loIndex = mid;
        } else {
            c.hi = hi_ = position;
            c.hiIndex = mid;
        }
        c.midPosted = false;
        emit Responded(
            id, position, agree, lo_, hi_, proposerLeft, challengerLeft, uint64(block.timestamp)
        );
    }

    /// @notice The proposer or the challenger of `id` executes the disputed step lo -> hi on
    ///         the claim's verifier, with a proof made for VM `proofVm` (which must be the
    ///         claim's). The proposer wins the challenge iff the verified post-state equals
    ///         its hash at hi. A proof the verifier rejects reverts the whole call.
    function step(uint256 id, uint32 proofVm, bytes calldata witness, bytes calldata proof)
        external
    {
        Challenge storage c = _playing(id);
        if (c.hi - c.lo != 1) revert BisectionNotOver();
        address challenger_ = c.challenger;
        if (msg.sender != proposer && msg.sender != challenger_) revert NotYourTurn(challenger_);
        if (proofVm != vm) revert WrongVm(vm, proofVm);
        // the challenger's clock runs in the step phase
        (uint64 proposerLeft, uint64 challengerLeft) = _charge(c, Party.Challenger);
        bytes32 pre = c.hashes[c.loIndex];
        bytes32 claimed = c.hashes[c.hiIndex];
        bytes32 post = verifier.stepFrom(pre, witness, proof);
        emit StepProven(
            id,
            msg.sender,
            c.lo,
            pre,
            claimed,
            post,
            proposerLeft,
            challengerLeft,
            uint64(block.timestamp)
        );
        _settle(id, c, post == claimed ? Party.Proposer : Party.Challenger, Reason.Step);
    }

    /// @notice Anyone ends challenge `id` once its running clock has expired: the party that
    ///         was to move loses it.
    function timeout(uint256 id) external {
        Challenge storage c = _playing(id);
        Party running = _turn(c);
        uint256 elapsed = block.timestamp - c.lastMoveAt;
        uint64 left = running == Party.Proposer ? c.proposerClock : c.challengerClock;
        if (elapsed <= left) revert ClockNotExpired(uint64(left - elapsed));
        if (running == Party.Proposer) c.proposerClock = 0;
        else c.challengerClock = 0;
        c.lastMoveAt = uint64(block.timestamp);
        emit TimedOut(id, running, c.proposerClock, c.challengerClock, uint64(block.timestamp));
        _settle(
            id, c, running == Party.Proposer ? Party.Challenger : Party.Proposer, Reason.Timeout
        );
    }

    /// @notice Anyone accepts the claim once the window has closed and no challenge is still
    ///         running (each was settled for the proposer, or there was none).
    function resolve() external {
        _requireOpen();
        uint256 closesAt = uint256(createdAt) + clockSeconds;
        if (block.timestamp <= closesAt) revert ChallengeWindowOpen(uint64(closesAt));
        uint64 open = openChallenges;
        if (open != 0) revert ChallengesPending(open);
        Reason why = challenges.length == 0 ? Reason.Unchallenged : Reason.Defended;
        status = Status.ProposerWon;
        reason = why;
        emit Resolved(proposer, Party.Proposer, why, 0, uint64(block.timestamp));
        _credit(proposer, proposerBond);
    }

    /// @notice Anyone closes a challenge that was still running when the claim fell through
    ///         another one: it is moot, and its challenger gets its bond back.
    function reclaim(uint256 id) external {
        if (status != Status.ChallengerWon) revert ClaimNotRejected();
        Challenge storage c = _challenge(id);
        if (c.status != ChallengeStatus.InProgress) revert ChallengeOver(id);
        c.status = ChallengeStatus.Moot;
        c.reason = Reason.Moot;
        emit ChallengeResolved(id, Party.None, Reason.Moot, uint64(block.timestamp));
        _credit(c.challenger, c.bond);
    }

    /// @notice Pull everything credited to the sender. The credit is zeroed before the
    ///         transfer, so a re-entering receiver finds nothing left.
    function withdraw() external {
        uint256 amount = credit[msg.sender];
        if (amount == 0) revert NothingToWithdraw();
        credit[msg.sender] = 0;
        emit Withdrawn(msg.sender, amount);
        (bool ok,) = msg.sender.call{value: amount}("");
        if (!ok) revert TransferFailed();
    }

    // ---- views ------------------------------------------------------------------------------

    function challengeCount() external view returns (uint256) {
        return challenges.length;
    }

    /// @notice The party whose clock runs in challenge `id` (None unless it is in progress
    ///         and the claim stands).
    function turn(uint256 id) external view returns (Party) {
        Challenge storage c = _challenge(id);
        return _live(c) ? _turn(c) : Party.None;
    }

    /// @notice Seconds left on each clock of challenge `id` at this block.
    function clocks(uint256 id) external view returns (uint64 proposerLeft, uint64 challengerLeft) {
        Challenge storage c = _challenge(id);
        proposerLeft = c.proposerClock;
        challengerLeft = c.challengerClock;
        if (!_live(c)) return (proposerLeft, challengerLeft);
        uint256 elapsed = block.timestamp - c.lastMoveAt;
        if (_turn(c) == Party.Proposer) {
            proposerLeft = elapsed >= proposerLeft ? 0 : uint64(proposerLeft - elapsed);
        } else {
            challengerLeft = elapsed >= challengerLeft ? 0 : uint64(challengerLeft - elapsed);
        }
    }

    /// @notice The claim's winner once resolved (the proposer, or the challenger whose
    ///         challenge rejected it), else address(0).
    function winner() external view returns (address) {
        if (status == Status.ProposerWon) return proposer;
        if (status == Status.ChallengerWon) return challenges[winningChallenge].challenger;
        return address(0);
    }

    /// @notice Challenge `id`'s whole state in one call.
    function challengeState(uint256 id) external view returns (ChallengeView memory v) {
        Challenge storage c = _challenge(id);
        v.status = c.status;
        v.reason = c.reason;
        v.turn = _live(c) ? _turn(c) : Party.None;
        v.lo = c.lo;
        v.hi = c.hi;
        v.hashLo = c.hashes[c.loIndex];
        v.hashHi = c.hashes[c.hiIndex];
        v.midPosted = c.midPosted;
        v.midHash = c.midPosted ? c.hashes[_midIndex(c)] : bytes32(0);
        v.proposerClock = c.proposerClock;
        v.challengerClock = c.challengerClock;
        v.lastMoveAt = c.lastMoveAt;
        v.timestamp = uint64(block.timestamp);
        v.challenger = c.challenger;
        v.bond = c.bond;
    }

    // ---- internals --------------------------------------------------------------------------

    function _requireOpen() internal view {
        Status s = status;
        if (s == Status.ProposerWon || s == Status.ChallengerWon) revert GameOver();
        if (proposer == address(0)) revert NotInitialized();
    }

    function _challenge(uint256 id) internal view returns (Challenge storage c) {
        if (id >= challenges.length) revert NoSuchChallenge(id);
        c = challenges[id];
    }

    /// @dev Challenge `id`, which must still be played: the claim stands and it is unsettled.
    function _playing(uint256 id) internal view returns (Challenge storage c) {
        _requireOpen();
        c = _challenge(id);
        if (c.status != ChallengeStatus.InProgress) revert ChallengeOver(id);
    }

    function _live(Challenge storage c) internal view returns (bool) {
        return c.status == ChallengeStatus.InProgress && status == Status.InProgress;
    }

    function _turn(Challenge storage c) internal view returns (Party) {
        if (c.hi - c.lo > 1 && !c.midPosted) return Party.Proposer;
        return Party.Challenger;
    }

    function _midIndex(Challenge storage c) internal view returns (uint8) {
        return 3 - c.loIndex - c.hiIndex;
    }

    function _turnAddress(Challenge storage c) internal view returns (address) {
        return _turn(c) == Party.Proposer ? proposer : c.challenger;
    }

    function _bisectingInterval(Challenge storage c)
        internal
        view
        returns (uint64 lo_, uint64 hi_)
    {
        (lo_, hi_) = (c.lo, c.hi);
        if (hi_ - lo_ == 1) revert BisectionOver();
    }

    function _requirePosition(uint64 lo_, uint64 hi_, uint64 position) internal pure {
        uint64 mid = lo_ + (hi_ - lo_) / 2;
        if (position != mid) revert WrongPosition(mid, position);
    }

    /// @dev Stops `party`'s running clock in `c` at this block (reverts if it has expired);
    ///      returns both clocks after the move.
    function _charge(Challenge storage c, Party party)
        internal
        returns (uint64 proposerLeft, uint64 challengerLeft)
    {
        uint256 elapsed = block.timestamp - c.lastMoveAt;
        (proposerLeft, challengerLeft) = (c.proposerClock, c.challengerClock);
        if (party == Party.Proposer) {
            if (elapsed > proposerLeft) revert ClockExpired();
            c.proposerClock = proposerLeft -= uint64(elapsed);
        } else {
            if (elapsed > challengerLeft) revert ClockExpired();
            c.challengerClock = challengerLeft -= uint64(elapsed);
        }
        c.lastMoveAt = uint64(block.timestamp);
    }

    /// @dev Settles challenge `id`. A proposer's win credits it the challenger's bond; a
    ///      challenger's win rejects the claim and credits it both bonds.
    function _settle(uint256 id, Challenge storage c, Party winningParty, Reason why) internal {
        c.reason = why;
        openChallenges -= 1;
        emit ChallengeResolved(id, winningParty, why, uint64(block.timestamp));
        if (winningParty == Party.Proposer) {
            c.status = ChallengeStatus.ProposerWon;
            _credit(proposer, c.bond);
            return;
        }
        c.status = ChallengeStatus.ChallengerWon;
        status = Status.ChallengerWon;
        reason = why;
        winningChallenge = uint64(id);
        address to = c.challenger;
        emit Resolved(to, Party.Challenger, why, id, uint64(block.timestamp));
        _credit(to, uint256(c.bond) + proposerBond);
    }

    function _credit(address to, uint256 amount) internal {
        if (amount == 0) return;
        credit[to] += amount;
        emit BondCredited(to, amount);
    }
}
