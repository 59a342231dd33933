// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {DisputeGame} from "./DisputeGame.sol";
import {IStepVerifier} from "./IStepVerifier.sol";

/// @title DisputeGameFactory
/// @notice Creates one DisputeGame per claim, all bound to the same step verifier, and keeps
///         the list so that anyone (a challenger watching the chain) can find every claim from
///         the factory's GameCreated events or from `games(i)`.
contract DisputeGameFactory {
    IStepVerifier public immutable verifier;
    address[] public games;

    event GameCreated(
        address indexed game,
        address indexed proposer,
        bytes32 absolutePreState,
        bytes32 claim,
        uint64 traceLength,
        uint64 clockSeconds,
        uint256 bond,
        uint64 timestamp
    );

    constructor(IStepVerifier verifier_) {
        verifier = verifier_;
    }

    /// @notice Claim that `traceLength` steps from `absolutePreState` end in `claim`; the
    ///         proposer (msg.sender) bonds msg.value. Reverts EmptyTrace / ZeroClock from the
    ///         game's constructor.
    function create(bytes32 absolutePreState, bytes32 claim, uint64 traceLength, uint64 clockSeconds)
        external
        payable
        returns (address game)
    {
        game = address(
            new DisputeGame{value: msg.value}(
                verifier, msg.sender, absolutePreState, claim, traceLength, clockSeconds
            )
        );
        games.push(game);
        emit GameCreated(
            game,
            msg.sender,
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
}
