// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {DisputeGame} from "./DisputeGame.sol";
import {IStepVerifier} from "../IStepVerifier.sol";

/// @title DisputeGameFactory
/// @notice Creates one DisputeGame per claim and keeps the list, so that anyone (a watchtower)
///         can find every claim from the factory's GameCreated events or from `games(i)`.
///
///         One step verifier per VM id (`verifiers[vm]`, fixed at construction: nobody can
///         swap the verifier of a VM under running games). A claim names its VM; its game is
///         bound to that VM's verifier and refuses a step proof made for another VM
///         (`WrongVm`). VM ids: 1 = MIPS32 (MipsVerifier), 2 = RV64 and 3 = RV32 (one
///         RiscvVerifier, which reads XLEN from the witness); docs/game.md lists them.
///
///         Each game is an EIP-1167 minimal proxy ("clone") of one DisputeGame implementation
///         the factory deploys in its constructor.
contract DisputeGameFactory {
    DisputeGame public immutable implementation;
    mapping(uint32 => IStepVerifier) public verifiers;
    address[] public games;

    error CloneFailed(); // CREATE of the clone failed
    error UnknownVm(uint32 vm); // create() for a VM with no verifier
    error VmListMismatch(); // constructor: as many VM ids as verifiers
    error DuplicateVm(uint32 vm); // constructor: a VM id twice, or id 0

    event GameCreated(
        address indexed game,
        address indexed proposer,
        uint32 vm,
        bytes32 absolutePreState,
        bytes32 claim,
        uint64 traceLength,
        uint64 clockSeconds,
        uint256 bond,
        uint64 timestamp
    );

    constructor(uint32[] memory vms, IStepVerifier[] memory verifiers_) {
        if (vms.length != verifiers_.length) revert VmListMismatch();
        for (uint256 i = 0; i < vms.length; ++i) {
            uint32 vm = vms[i];
            if (vm == 0 || address(verifiers[vm]) != address(0)) revert DuplicateVm(vm);
            verifiers[vm] = verifiers_[i];
        }
        implementation = new DisputeGame();
    }

    /// @notice Claim that `traceLength` steps of VM `vm` from `absolutePreState` end in
    ///         `claim`; the proposer (msg.sender) bonds msg.value. Reverts UnknownVm, and
    ///         EmptyTrace / ZeroClock from the game's initialize().
    function create(
        uint32 vm,
        bytes32 absolutePreState,
        bytes32 claim,
        uint64 traceLength,
        uint64 clockSeconds
    ) external payable returns (address game) {
        IStepVerifier verifier = verifiers[vm];
        if (address(verifier) == address(0)) revert UnknownVm(vm);
        game = _clone(address(implementation));
        DisputeGame(game).initialize{value: msg.value}(
            msg.sender, vm, verifier, absolutePreState, claim, traceLength, clockSeconds
        );
        games.push(game);
        emit GameCreated(
            game,
            msg.sender,
            vm,
            absolutePreState,
            claim,
            traceLength,
            clockSeconds,
            msg.value,
            uint64(block.timestamp)
        );
    }

    function gameCount() external view returns (uint256) {
        return games.length;
    }

    /// @dev EIP-1167: init code that returns the 45-byte runtime "copy the calldata,
    ///      DELEGATECALL `target` with all gas, return or revert with its return data".
    function _clone(address target) internal returns (address instance) {
        bytes memory initCode = abi.encodePacked(
            hex"3d602d80600a3d3981f3", // init: return the 45 (0x2d) bytes that follow
            hex"363d3d373d3d3d363d73", // runtime: calldatacopy, then push20 ...
            target, // ... the implementation
            hex"5af43d82803e903d91602b57fd5bf3" // delegatecall, returndatacopy, return/revert
        );
        assembly ("memory-safe") {
            instance := create(0, add(initCode, 0x20), mload(initCode))
        }
        if (instance == address(0)) revert CloneFailed();
    }
}
