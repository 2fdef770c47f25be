// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/IERC20Permit.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {ILilypadJobClient, ILilypadJobManager} from "./ILilypadJobClient.sol";
import {PermitSignature} from "./LilypadTypes.sol";

/// @notice Where a job requested on chain stands. Numbering is part of the ABI (`getJob`).
enum JobState {
    None,
    Pending,
    Completed,
    Failed,
    TimedOut
}

/// @notice One job as `getJob` returns it.
struct JobView {
    address callingContract;
    address payee;
    JobState state;
    uint256 createdAt;
    /// @dev After this time (strictly) anyone may refund a job that is still pending.
    uint256 deadline;
}

/// @title Lilypad on-chain job creator: a smart contract runs a module
/// @notice A contract calls `runJob(module, inputs, payee)`; the deposit is escrowed here from the payee,
/// `JobAdded` tells the job-creator service, which runs the job as an ordinary Lilypad job creator and
/// answers with `submitResults` (the deposit pays the service) or `failJob` (the deposit goes back). A job
/// the service never answers can be refunded by anyone after `timeoutSeconds`. The requesting contract
/// hears the outcome through `ILilypadJobClient`, with capped gas: it cannot block the settlement.
/// @dev Everything is fixed at deployment (no owner, no setter). A job is two storage words; the module
/// and inputs live only in calldata and the `JobAdded` event.
contract LilypadOnChainJobCreator is ILilypadJobManager {
    using SafeERC20 for IERC20;

    /// @notice Most inputs one job may carry.
    uint256 public constant MAX_INPUTS = 16;
    /// @notice Longest input (`KEY=VALUE`), in bytes.
    uint256 public constant MAX_INPUT_LENGTH = 1024;
    /// @notice Longest module reference, in bytes.
    uint256 public constant MAX_MODULE_LENGTH = 256;
    /// @notice Longest job timeout a deployment may choose.
    uint256 public constant MAX_TIMEOUT = 30 days;
    /// @notice Gas given to a client's callback; a callback that needs more fails (and settlement stands).
    uint256 public constant CALLBACK_GAS = 300_000;
    /// @dev What the call itself and the code after it need besides the callback's own gas.
    uint256 private constant CALLBACK_OVERHEAD = 10_000;

    /// @dev Word 0: who asked, when, and the state; word 1: who paid.
    struct Job {
        address callingContract;
        uint40 createdAt;
        JobState state;
        address payee;
    }

    IERC20 private immutable _token;
    /// @notice The job-creator service: the only account that may settle jobs, and who earns the deposits.
    address public immutable service;
    /// @notice LP (wei) escrowed for each job.
    uint256 public immutable requiredDeposit;
    /// @notice Seconds after `runJob` from which anyone may refund a job the service has not answered.
    uint256 public immutable timeoutSeconds;

    /// @dev Reentrancy lock in transient storage (EIP-1153), as in LilypadController.
    bool private transient _entered;

    /// @notice The ID of the last job requested (IDs start at 1).
    uint256 public lastJobId;
    mapping(uint256 jobId => Job) private _jobs;
    /// @dev How many more jobs each client contract may charge to each payee (`type(uint256).max`: no cap).
    mapping(address payee => mapping(address client => uint256 jobs)) private _clientJobs;

    /// @notice A job was requested. Same signature as the classic contract's, so its services decode it.
    event JobAdded(uint256 jobId, address callingContract, address payee, string module, string[] inputs);
    /// @notice The service delivered the job's result; the deposit was paid to the service.
    event ResultsSubmitted(uint256 indexed jobId, string dealId, string dataId);
    /// @notice The job failed or timed out; the deposit went back to the payee.
    event JobFailed(uint256 indexed jobId, string reason);
    /// @notice The requesting contract's callback reverted or ran out of gas; the settlement stands.
    event ClientCallbackFailed(uint256 indexed jobId);
    /// @notice `payee` let `client` request up to `jobs` jobs at its cost (`type(uint256).max`: no cap).
    event ClientApproved(address indexed payee, address indexed client, uint256 jobs);

    /// @notice A guarded function was entered again before it returned.
    error ReentrantCall();
    /// @notice A constructor argument, the payee or the client was the zero address.
    error ZeroAddress();
    /// @notice `payee` has not authorized `client` (the caller) to request jobs at its cost, or the
    /// authorized number of jobs is used up.
    error ClientNotApproved(address payee, address client);
    /// @notice The timeout is 0 or above `MAX_TIMEOUT`.
    error InvalidTimeout();
    /// @notice The module reference is empty or longer than `MAX_MODULE_LENGTH`.
    error InvalidModule();
    /// @notice More than `MAX_INPUTS` inputs.
    error TooManyInputs(uint256 count);
    /// @notice Input `index` is not `KEY=VALUE` with an identifier key, or is longer than `MAX_INPUT_LENGTH`.
    error InvalidInput(uint256 index);
    /// @notice Only the job-creator service may do this.
    error NotService();
    /// @notice No job has this ID.
    error UnknownJob();
    /// @notice The job was already settled (its state is `current`).
    error JobNotPending(JobState current);
    /// @notice The job cannot be refunded until after `deadline` (unix seconds).
    error TooEarly(uint256 deadline);
    /// @notice The data ID is empty.
    error EmptyDataId();
    /// @notice The transaction did not carry enough gas to give the client's callback `CALLBACK_GAS`.
    error InsufficientGas();

    /// @param token_ the LP token
    /// @param service_ the job-creator service's account
    /// @param requiredDeposit_ LP (wei) escrowed per job (may be 0)
    /// @param timeoutSeconds_ how long the service has to answer before anyone may refund (1 s to 30 days)
    constructor(IERC20 token_, address service_, uint256 requiredDeposit_, uint256 timeoutSeconds_) {
        if (address(token_) == address(0) || service_ == address(0)) revert ZeroAddress();
        if (timeoutSeconds_ == 0 || timeoutSeconds_ > MAX_TIMEOUT) revert InvalidTimeout();
        _token = token_;
        service = service_;
        requiredDeposit = requiredDeposit_;
        timeoutSeconds = timeoutSeconds_;
    }

    modifier nonReentrant() {
        if (_entered) revert ReentrantCall();
        _entered = true;
        _;
        _entered = false;
    }

    modifier onlyService() {
        if (msg.sender != service) revert NotService();
        _;
    }

    /// @notice The LP token.
    function getTokenAddress() external view returns (address) {
        return address(_token);
    }

    /// @notice LP (wei) escrowed from the payee for each job; the payee approves (or permits) this contract.
    function getRequiredDeposit() external view returns (uint256) {
        return requiredDeposit;
    }

    /// @notice Lets `client` request up to `maxJobs` jobs paid by the caller (`type(uint256).max`: no cap;
    /// 0 revokes). An allowance to this contract alone never lets anyone else spend it: a job whose payee
    /// is not the caller of `runJob` needs this authorization, used up one job at a time.
    /// @param client the contract (or account) that will call `runJob` naming the caller as payee
    /// @param maxJobs how many jobs it may request from now on (replaces any earlier number)
    function approveClient(address client, uint256 maxJobs) external {
        if (client == address(0)) revert ZeroAddress();
        _clientJobs[msg.sender][client] = maxJobs;
        emit ClientApproved(msg.sender, client, maxJobs);
    }

    /// @notice How many more jobs `client` may request at `payee`'s cost.
    /// @param payee who would pay
    /// @param client who would call `runJob`
    function clientAllowance(address payee, address client) external view returns (uint256) {
        return _clientJobs[payee][client];
    }

    /// @notice One job; reverts `UnknownJob()` for an ID never issued.
    /// @param jobId the job's ID
    function getJob(uint256 jobId) external view returns (JobView memory) {
        Job storage job = _jobs[jobId];
        if (job.state == JobState.None) revert UnknownJob();
        return JobView({
            callingContract: job.callingContract,
            payee: job.payee,
            state: job.state,
            createdAt: job.createdAt,
            deadline: uint256(job.createdAt) + timeoutSeconds
        });
    }

    /// @notice Requests a job. `msg.sender` is the requesting contract (it receives the callbacks) and
    /// `payee` pays the deposit, which must be approved for this contract. Unless the payee is the
    /// caller, the payee must have authorized the caller with `approveClient` (one job is used up).
    /// @param module the module reference, e.g. `cowsay:v0.0.3`
    /// @param inputs `KEY=VALUE` each; KEY matches `[A-Za-z_][A-Za-z0-9_]*`, VALUE is anything after the
    /// first `=`
    /// @param payee who pays the deposit (and gets it back if the job fails)
    /// @return jobId the new job's ID
    function runJob(string calldata module, string[] calldata inputs, address payee)
        external
        nonReentrant
        returns (uint256 jobId)
    {
        return _runJob(module, inputs, payee);
    }

    /// @notice `runJob` preceded by the payee's EIP-2612 permit for this contract. If the permit fails but
    /// the allowance already covers `permit.value` (someone submitted the same permit first), the job
    /// proceeds; otherwise the token's error is re-raised. As in `runJob`, the caller must be the payee or
    /// authorized by it, so a permit seen in the mempool cannot pay for someone else's job.
    /// @param module the module reference
    /// @param inputs `KEY=VALUE` each
    /// @param payee who pays the deposit and signed the permit (owner = payee, spender = this contract)
    /// @param permit the payee's permit
    /// @return jobId the new job's ID
    function runJobWithPermit(
        string calldata module,
        string[] calldata inputs,
        address payee,
        PermitSignature calldata permit
    ) external nonReentrant returns (uint256 jobId) {
        try IERC20Permit(address(_token)).permit(
            payee, address(this), permit.value, permit.deadline, permit.v, permit.r, permit.s
        ) {} catch (bytes memory reason) {
            if (_token.allowance(payee, address(this)) < permit.value) {
                assembly ("memory-safe") {
                    revert(add(reason, 0x20), mload(reason))
                }
            }
        }
        return _runJob(module, inputs, payee);
    }

    function _runJob(string calldata module, string[] calldata inputs, address payee)
        private
        returns (uint256 jobId)
    {
        if (payee == address(0)) revert ZeroAddress();
        if (payee != msg.sender) {
            uint256 left = _clientJobs[payee][msg.sender];
            if (left == 0) revert ClientNotApproved(payee, msg.sender);
            if (left != type(uint256).max) _clientJobs[payee][msg.sender] = left - 1;
        }
        uint256 moduleLength = bytes(module).length;
        if (moduleLength == 0 || moduleLength > MAX_MODULE_LENGTH) revert InvalidModule();
        uint256 count = inputs.length;
        if (count > MAX_INPUTS) revert TooManyInputs(count);
        for (uint256 i = 0; i < count; ++i) {
            if (!_validInput(bytes(inputs[i]))) revert InvalidInput(i);
        }

        jobId = ++lastJobId;
        _jobs[jobId] = Job({
            callingContract: msg.sender,
            createdAt: uint40(block.timestamp),
            state: JobState.Pending,
            payee: payee
        });
        emit JobAdded(jobId, msg.sender, payee, module, inputs);

        uint256 deposit = requiredDeposit;
        if (deposit > 0) _token.safeTransferFrom(payee, address(this), deposit);
    }

    /// @dev `KEY=VALUE` with KEY an identifier: a letter or `_`, then letters, digits or `_`, then `=`.
    function _validInput(bytes calldata input) private pure returns (bool) {
        uint256 length = input.length;
        if (length < 2 || length > MAX_INPUT_LENGTH) return false;
        bytes1 c = input[0];
        if (!(_isLetter(c) || c == "_")) return false;
        for (uint256 i = 1; i < length; ++i) {
            c = input[i];
            if (c == "=") return true;
            if (!(_isLetter(c) || c == "_" || (c >= "0" && c <= "9"))) return false;
        }
        return false;
    }

    function _isLetter(bytes1 c) private pure returns (bool) {
        return (c >= "a" && c <= "z") || (c >= "A" && c <= "Z");
    }

    /// @notice Delivers a job's result: pays the deposit to the service, then tells the requesting contract.
    /// @param jobId the job
    /// @param dealId the deal that ran it
    /// @param dataId the CID of its outputs (verified by the service before it calls this)
    function submitResults(uint256 jobId, string calldata dealId, string calldata dataId)
        external
        nonReentrant
        onlyService
    {
        if (bytes(dataId).length == 0) revert EmptyDataId();
        Job storage job = _pending(jobId);
        job.state = JobState.Completed;
        address client = job.callingContract;
        emit ResultsSubmitted(jobId, dealId, dataId);

        uint256 deposit = requiredDeposit;
        if (deposit > 0) _token.safeTransfer(msg.sender, deposit);
        _callClient(client, jobId, abi.encodeCall(ILilypadJobClient.submitResults, (jobId, dealId, dataId)));
    }

    /// @notice Gives up on a job: refunds the payee, then tells the requesting contract.
    /// @param jobId the job
    /// @param reason why, in words
    function failJob(uint256 jobId, string calldata reason) external nonReentrant onlyService {
        _fail(jobId, JobState.Failed, reason);
    }

    /// @notice Refunds a job the service did not answer within `timeoutSeconds`; anyone may call it.
    /// @param jobId the job
    function refundTimedOut(uint256 jobId) external nonReentrant {
        Job storage job = _pending(jobId);
        uint256 deadline = uint256(job.createdAt) + timeoutSeconds;
        if (block.timestamp <= deadline) revert TooEarly(deadline);
        _fail(jobId, JobState.TimedOut, "timed out: the job-creator service did not answer");
    }

    function _fail(uint256 jobId, JobState state, string memory reason) private {
        Job storage job = _pending(jobId);
        job.state = state;
        address client = job.callingContract;
        address payee = job.payee;
        emit JobFailed(jobId, reason);

        uint256 deposit = requiredDeposit;
        if (deposit > 0) _token.safeTransfer(payee, deposit);
        _callClient(client, jobId, abi.encodeCall(ILilypadJobClient.jobFailed, (jobId, reason)));
    }

    function _pending(uint256 jobId) private view returns (Job storage job) {
        job = _jobs[jobId];
        JobState state = job.state;
        if (state == JobState.None) revert UnknownJob();
        if (state != JobState.Pending) revert JobNotPending(state);
    }

    /// @dev Calls the client with at most `CALLBACK_GAS`, copying no return data (a client cannot make the
    /// settlement run out of gas by returning a huge buffer). The transaction must carry enough gas for the
    /// callback to really get `CALLBACK_GAS` (the 63/64 rule), or a sender could starve the callback on
    /// purpose; with too little it reverts as a whole.
    function _callClient(address client, uint256 jobId, bytes memory data) private {
        if (gasleft() < (CALLBACK_GAS * 64) / 63 + CALLBACK_OVERHEAD) revert InsufficientGas();
        bool ok;
        assembly ("memory-safe") {
            ok := call(CALLBACK_GAS, client, 0, add(data, 0x20), mload(data), 0, 0)
        }
        if (!ok) emit ClientCallbackFailed(jobId);
    }
}
