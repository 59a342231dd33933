// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {DisputeGame} from "../game/DisputeGame.sol";
import {IStepVerifier} from "../IStepVerifier.sol";

/// @notice Test stand-in for the factory: it deploys a DisputeGame of its own, so it is that
///         contract's `factory` and may initialize it, and can try to do so more than once
///         (the real factory initializes each clone exactly once, so it cannot show that the
///         game refuses a second initialization).
contract GameInitializer {
    DisputeGame public immutable game;

    constructor() {
        game = new DisputeGame();
    }

    function initialize(
        uint32 vm,
        IStepVerifier verifier,
        bytes32 absolutePreState,
        bytes32 claim,
        uint64 traceLength,
        uint64 clock
    ) external payable {
        game.initialize{value: msg.value}(
            msg.sender, vm, verifier, absolutePreState, claim, traceLength, clock
        );
    }
}
