// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {ERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/ERC20Permit.sol";

/// @title Lilypad Token (LP)
/// @notice Plain ERC-20 with EIP-2612 `permit`, 18 decimals. The whole supply is minted once to the deployer;
/// there is no owner, no minting, no pausing and no escrow logic in the token: escrow lives in
/// LilypadController, which pulls tokens with `transferFrom` after an `approve` or a `permit`.
contract LilypadToken is ERC20, ERC20Permit {
    /// @notice 1,000,000,000 LP in wei.
    uint256 public constant INITIAL_SUPPLY = 1_000_000_000 ether;

    /// @notice Mints `INITIAL_SUPPLY` to the deployer.
    constructor() ERC20("Lilypad Token", "LP") ERC20Permit("Lilypad Token") {
        _mint(msg.sender, INITIAL_SUPPLY);
    }
}
