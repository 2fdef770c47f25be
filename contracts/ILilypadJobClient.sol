// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {PermitSignature} from "./LilypadTypes.sol";

/// @title What a contract implements to receive the outcome of a job it requested
/// @notice `LilypadOnChainJobCreator` calls exactly one of these, once per job, with a gas cap of
/// `CALLBACK_GAS` (300,000). A callback that reverts or runs out of gas does not undo the job's
/// settlement: the job creator emits `ClientCallbackFailed(jobId)` and the outcome stays readable with
/// `getJob(jobId)` and in its events.
interface ILilypadJobClient {
    /// @notice The job ran; `dataId` is the CID of its outputs, verified by the job-creator service.
    /// @param jobId the ID `runJob` returned
    /// @param dealId the deal that ran the job
    /// @param dataId the CID of the outputs
    function submitResults(uint256 jobId, string calldata dealId, string calldata dataId) external;

    /// @notice The job will not run (it failed, or the service never answered in time); the deposit went
    /// back to the payee.
    /// @param jobId the ID `runJob` returned
    /// @param reason why, in words
    function jobFailed(uint256 jobId, string calldata reason) external;
}

/// @title The on-chain job creator as a requesting contract sees it
interface ILilypadJobManager {
    /// @notice LP (wei) escrowed from the payee for each job.
    function getRequiredDeposit() external view returns (uint256);

    /// @notice Requests a job: `module` with `inputs` (each `KEY=VALUE`), paid by `payee`.
    function runJob(string calldata module, string[] calldata inputs, address payee) external returns (uint256);

    /// @notice `runJob` preceded by the payee's EIP-2612 permit for the job creator.
    function runJobWithPermit(
        string calldata module,
        string[] calldata inputs,
        address payee,
        PermitSignature calldata permit
    ) external returns (uint256);
}
