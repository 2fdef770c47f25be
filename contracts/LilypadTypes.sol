// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

// Shared enums and structs of the Lilypad protocol. File-level definitions only (no contract), so every
// contract that imports them gets identical ABI types. Enum numbering is part of the protocol: it is the
// Solidity column of the state table and must never be reordered.

/// @notice Lifecycle of a deal. 0-6 equal the Go `AgreementState` values; 7-10 are one higher than Go's
/// (Go never had `TimeoutAgree`).
enum AgreementState {
    DealNegotiating, // 0: one party agreed, waiting for the other
    DealAgreed, // 1: both agreed, waiting for the provider's result
    ResultsSubmitted, // 2: result posted, waiting for the job creator's judgement
    ResultsAccepted, // 3: terminal
    ResultsChecked, // 4: job creator disputed, waiting for the mediator
    MediationAccepted, // 5: terminal
    MediationRejected, // 6: terminal
    TimeoutAgree, // 7: terminal
    TimeoutSubmitResults, // 8: terminal
    TimeoutJudgeResults, // 9: terminal
    TimeoutMediateResults // 10: terminal
}

/// @notice Roles in the service registry.
enum ServiceType {
    Solver,
    Mediator,
    ResourceProvider,
    JobCreator
}

/// @notice What a `Payment` event moves tokens for.
enum PaymentReason {
    PaymentCollateral,
    ResultsCollateral,
    TimeoutCollateral,
    JobPayment,
    MediationFee
}

/// @notice Which way a `Payment` event moves tokens. PaidIn: party to escrow. PaidOut: escrow to the payee as
/// earnings (job payment, mediation fee, or a slashed collateral handed to its beneficiary). Refunded: escrow
/// back to the party that paid it in. Slashed: marks the party that lost the collateral; no tokens go to it
/// (a matching PaidOut event names who received them).
enum PaymentDirection {
    PaidIn,
    PaidOut,
    Refunded,
    Slashed
}

/// @notice The parties of a deal. `mediators` lists the mediators both sides trust (1 to 16).
struct DealMembers {
    address solver;
    address jobCreator;
    address resourceProvider;
    address[] mediators;
}

/// @notice One waiting step: how long the acting party has (seconds) and what the other side locks for it.
struct DealTimeout {
    uint256 timeout;
    uint256 collateral;
}

/// @notice The four waiting steps. `agree.collateral` and `mediateResults.collateral` must be 0.
struct DealTimeouts {
    DealTimeout agree;
    DealTimeout submitResults;
    DealTimeout judgeResults;
    DealTimeout mediateResults;
}

/// @notice Prices in token wei, except `resultsCollateralMultiple` (a plain factor on the job cost).
struct DealPricing {
    uint256 instructionPrice;
    uint256 paymentCollateral;
    uint256 resultsCollateralMultiple;
    uint256 mediationFee;
}

/// @notice An EIP-2612 permit signed by the caller for the escrow contract (spender = the controller).
struct PermitSignature {
    uint256 value;
    uint256 deadline;
    uint8 v;
    bytes32 r;
    bytes32 s;
}

/// @notice A registered service: where to reach it and which roles it claims.
struct User {
    address userAddress;
    string metadataCID;
    string url;
    ServiceType[] roles;
}

/// @notice What `getDeal` reports. While the deal is negotiating (and after `TimeoutAgree`) only the party that
/// agreed, what it locked and, while negotiating, `termsDigest` (the first 25 bytes of `hashTerms`) are known:
/// a job creator's `paymentCollateral` is then everything it locked (payment + judge collateral) and
/// `judgeResultsCollateral` is 0, as the split is stored only once both agreed. Afterwards `termsDigest` is 0.
struct DealView {
    string dealId;
    AgreementState state;
    address jobCreator;
    address resourceProvider;
    address[] mediators;
    uint256 instructionPrice;
    uint256 paymentCollateral;
    uint256 resultsCollateralMultiple;
    uint256 mediationFee;
    uint256 submitResultsCollateral;
    uint256 judgeResultsCollateral;
    uint256 judgeResultsTimeout;
    uint256 mediateResultsTimeout;
    bytes25 termsDigest;
}

/// @notice What `getAgreement` reports. `deadline` is when the current waiting step times out (0 once
/// terminal); `closedAt` is when the deal reached its terminal state (0 before).
struct AgreementView {
    AgreementState state;
    bool jobCreatorAgreed;
    bool resourceProviderAgreed;
    uint256 deadline;
    uint256 closedAt;
}

/// @notice What `getResult` reports. The result strings are not stored: they are in the `ResultAdded` event
/// emitted in block `resultsBlock` (0 while no result exists).
struct ResultView {
    string dealId;
    uint256 instructionCount;
    uint256 jobCost;
    uint256 resultsCollateral;
    uint256 resultsBlock;
}
