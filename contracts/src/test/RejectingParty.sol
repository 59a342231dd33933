// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {DisputeGame} from "../game/DisputeGame.sol";
import {DisputeGameFactory} from "../game/DisputeGameFactory.sol";

/// @notice Test party for DisputeGame's bond rules: a contract proposer or challenger that,
///         when paid, either rejects the ether (`accept` false: its withdraw() fails and the
///         credit must stay) or re-enters withdraw() once (`accept` true: the inner call must
///         find nothing left, so the credit is paid exactly once; `reentryBlocked` records it).
contract RejectingParty {
    DisputeGame public game;
    bool public accept;
    bool public reentryBlocked;
    uint256 public received;

    function propose(
        DisputeGameFactory factory,
        uint32 vm,
        bytes32 absolutePreState,
        bytes32 claim,
        uint64 traceLength,
        uint64 clockSeconds
    ) external payable {
        game = DisputeGame(
            factory.create{value: msg.value}(vm, absolutePreState, claim, traceLength, clockSeconds)
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
        if (!accept) revert("rejected");
        received += msg.value;
        try game.withdraw() {} catch {
            reentryBlocked = true;
        }
    }
}
