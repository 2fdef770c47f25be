// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {ILilypadJobClient, ILilypadJobManager} from "./ILilypadJobClient.sol";

/// @title A minimal contract that runs Lilypad modules
/// @notice `run(module, inputs)` requests a job paid by the caller, who first approves the job creator for
/// `getRequiredDeposit()` per job and authorizes this client with `approveClient(client, jobs)`; the job
/// creator calls back with the result's data ID, or with the
/// reason it failed, and this contract keeps it.
contract ExampleClient is ILilypadJobClient {
    /// @notice Where a job stands for this client.
    enum ResultState {
        None,
        Pending,
        Completed,
        Failed
    }

    struct Result {
        ResultState state;
        string dealId;
        string dataId;
    }

    /// @notice The job creator this client asks, and the only caller of its callbacks.
    ILilypadJobManager public immutable jobCreator;

    mapping(uint256 jobId => Result) private _results;

    /// @notice The job `jobId` for `module` was requested by `requester`.
    event JobRequested(uint256 indexed jobId, address indexed requester, string module);
    /// @notice The job ran; its outputs have the CID `dataId`.
    event JobCompleted(uint256 jobId, string dealId, string dataId);
    /// @notice The job did not run; the deposit went back to its payee.
    event JobFailed(uint256 jobId, string reason);

    /// @notice The constructor's job creator was the zero address.
    error ZeroAddress();
    /// @notice Only the job creator may call this.
    error NotJobCreator();
    /// @notice This client has no pending job with this ID.
    error UnknownJob();

    /// @param jobCreator_ the LilypadOnChainJobCreator to ask
    constructor(ILilypadJobManager jobCreator_) {
        if (address(jobCreator_) == address(0)) revert ZeroAddress();
        jobCreator = jobCreator_;
    }

    modifier onlyJobCreator() {
        if (msg.sender != address(jobCreator)) revert NotJobCreator();
        _;
    }

    /// @notice Requests `module` with `inputs` (each `KEY=VALUE`), the caller paying the deposit.
    /// @param module e.g. `cowsay:v0.0.3`
    /// @param inputs e.g. `["Message=hi"]`
    /// @return jobId the job creator's ID for it
    function run(string calldata module, string[] calldata inputs) external returns (uint256 jobId) {
        jobId = jobCreator.runJob(module, inputs, msg.sender);
        _results[jobId].state = ResultState.Pending;
        emit JobRequested(jobId, msg.sender, module);
    }

    /// @notice What this client knows about a job: both IDs once it completed, empty strings before.
    /// @param jobId the job
    function getResult(uint256 jobId)
        external
        view
        returns (string memory dealId, string memory dataId, ResultState state)
    {
        Result storage result = _results[jobId];
        return (result.dealId, result.dataId, result.state);
    }

    /// @inheritdoc ILilypadJobClient
    function submitResults(uint256 jobId, string calldata dealId, string calldata dataId)
        external
        onlyJobCreator
    {
        Result storage result = _results[jobId];
        if (result.state != ResultState.Pending) revert UnknownJob();
        result.state = ResultState.Completed;
        result.dealId = dealId;
        result.dataId = dataId;
        emit JobCompleted(jobId, dealId, dataId);
    }

    /// @inheritdoc ILilypadJobClient
    function jobFailed(uint256 jobId, string calldata reason) external onlyJobCreator {
        Result storage result = _results[jobId];
        if (result.state != ResultState.Pending) revert UnknownJob();
        result.state = ResultState.Failed;
        emit JobFailed(jobId, reason);
    }
}
