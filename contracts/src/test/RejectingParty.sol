// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {DisputeGame} from "../DisputeGame.sol";
import {DisputeGameFactory} from "../DisputeGameFactory.sol";

/// @notice Test party for DisputeGame's bond rules: a contract proposer or challenger whose
///         receive() re-enters the game (which must find it over) and so rejects the bond
///         push until told to accept; the credited bonds are then pulled with withdraw().
contract RejectingParty {
    DisputeGame public game;
    bool public accept;

    function propose(
        DisputeGameFactory factory,
        bytes32 absolutePreState,
        bytes32 claim,
        uint64 traceLength,
        uint64 clockSeconds
    ) external payable {
        game = DisputeGame(
            factory.create{value: msg.value}(absolutePreState, claim, traceLength, clockSeconds)
        );
    }

    function challenge(DisputeGame target) external payable {
        game = target;
        target.challenge{value: msg.value}();
    }

    function setAccept(bool value) external {
        accept = value;
    }

    function withdraw() external {
        game.withdraw();
    }

    receive() external payable {
        if (!accept) game.timeout(); // re-entry: reverts (GameOver), so the push fails
    }
}
