// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/IERC20Permit.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {
    AgreementState,
    AgreementView,
    DealMembers,
    DealPricing,
    DealTimeouts,
    DealView,
    PaymentDirection,
    PaymentReason,
    PermitSignature,
    ResultView
} from "./LilypadTypes.sol";

/// @title Lilypad controller: deal storage, escrow and mediation in one contract
/// @notice The classic Lilypad protocol (agree, addResult, acceptResult/checkResult, mediation, timeouts)
/// with the storage, payments and mediation roles merged into this contract, so `getStorageAddress()`,
/// `getPaymentsAddress()` and `getMediationAddress()` all return `address(this)`. Parties approve (or
/// permit) this contract, which pulls LP with `transferFrom`. See contracts/README.md for the payout table.
/// @dev Gas design: a deal is five packed storage words. The first `agree` writes two (its own party word
/// and the lifecycle word, which also holds a 200-bit digest of the full terms); the second `agree` must
/// present terms with the same digest and writes the other three. Each party's word records only what that
/// party locked from its own calldata. Everything else (solver, agree and submit timeouts, the strings of a
/// result) lives in calldata and events only.
contract LilypadController {
    using SafeERC20 for IERC20;

    /// @notice Most mediators one deal may list.
    uint256 public constant MAX_MEDIATORS = 16;
    /// @notice Longest agree timeout: how long one party's lone agreement can hold a deal ID before anyone
    /// may start a new deal under it.
    uint256 public constant MAX_AGREE_TIMEOUT = 7 days;

    // Bits of `Lifecycle.agreed`.
    uint8 private constant JC_AGREED = 1;
    uint8 private constant RP_AGREED = 2;

    /// @dev Reasons carried by `InvalidTerms`; documented in contracts/README.md.
    uint8 private constant EMPTY_DEAL_ID = 1;
    uint8 private constant ZERO_PARTY = 2;
    uint8 private constant SAME_PARTY = 3;
    uint8 private constant MEDIATOR_COUNT = 4;
    uint8 private constant BAD_MEDIATOR = 5;
    uint8 private constant NONZERO_UNUSED_COLLATERAL = 6;
    uint8 private constant BAD_TIMEOUT = 7;
    uint8 private constant AMOUNT_TOO_LARGE = 8;
    uint8 private constant AGREE_TIMEOUT_TOO_LONG = 9;

    /// @dev Word 0 and word 1: a party and everything it locked at `agree`, taken from its own calldata only:
    /// payment + judge-timeout collateral (P + J) for the job creator, submit-timeout collateral (S) for the
    /// resource provider. Each party writes its own word in its own `agree`. Once both agreed, the lifecycle
    /// word holds J and the job creator's payment collateral is `amount - J`.
    struct Party {
        address account;
        uint96 amount;
    }

    /// @dev Word 2, written by the second `agree`.
    struct Mediation {
        address firstMediator;
        uint96 mediationFee;
    }

    /// @dev Word 3, written by the second `agree`; `addResult` and `checkResult` fill the last two fields.
    struct Terms {
        uint96 instructionPrice;
        uint32 resultsCollateralMultiple;
        uint32 judgeTimeout;
        uint32 mediateTimeout;
        uint56 instructionCount;
        uint8 mediatorIndex;
    }

    /// @dev Word 4, written by every transition. `deadline` becomes the closing time in terminal states.
    /// While negotiating, `judgeCollateral`, `resultsBlock` and `digestTail` together hold the terms digest
    /// (the first 25 bytes of `hashTerms`, see `_negotiationDigest`); the second `agree` replaces them with
    /// J and zeros, `timeoutAgree` with zeros.
    struct Lifecycle {
        AgreementState state;
        uint8 agreed;
        uint40 deadline;
        uint96 judgeCollateral;
        uint64 resultsBlock;
        uint40 digestTail;
    }

    struct Deal {
        Party jobCreator;
        Party resourceProvider;
        Mediation mediation;
        Terms terms;
        Lifecycle life;
    }

    IERC20 private immutable _token;
    address private immutable _users;
    /// @notice Receives the results collateral a mediator slashes (set once at deployment).
    address public immutable treasury;

    /// @dev Reentrancy lock in transient storage (EIP-1153): cleared at the end of every guarded call.
    bool private transient _entered;

    mapping(bytes32 dealKey => Deal) private _deals;
    /// @dev Mediators after the first, only for deals that list more than one.
    mapping(bytes32 dealKey => address[]) private _moreMediators;

    /// @notice A guarded function was entered again before it returned.
    error ReentrantCall();
    /// @notice A constructor argument was the zero address.
    error ZeroAddress();
    /// @notice No deal with this ID exists.
    error UnknownDeal();
    /// @notice The caller is neither the deal's job creator nor its resource provider (for `timeoutAgree`:
    /// not the party that agreed).
    error NotAParty();
    /// @notice Only the deal's job creator may do this.
    error NotJobCreator();
    /// @notice Only the deal's resource provider may do this.
    error NotResourceProvider();
    /// @notice Only the mediator chosen for this deal may do this.
    error NotMediator();
    /// @notice The deal is in `current` but the call needs `expected`.
    error WrongState(AgreementState current, AgreementState expected);
    /// @notice The timeout cannot be claimed until after `deadline` (unix seconds).
    error TooEarly(uint256 deadline);
    /// @notice The terms differ from the ones the other party agreed to. Both values are the first 25 bytes
    /// of `hashTerms` (the digest stored while negotiating, and the caller's).
    error TermsMismatch(bytes25 agreed, bytes25 offered);
    /// @notice The terms break a rule; `reason` is one of the codes in contracts/README.md.
    error InvalidTerms(uint8 reason);
    /// @notice The caller already agreed to this deal.
    error AlreadyAgreed();
    /// @notice `instructionCount` does not fit in 56 bits.
    error InstructionCountTooLarge();

    // `DealStateChange`, `Payment` and `ResultAdded` keep the classic protocol's exact signatures (the deal ID
    // in the data, nothing indexed), so clients built for the classic contracts decode them unchanged.

    /// @notice The deal entered `state`.
    event DealStateChange(string dealId, AgreementState state);
    /// @notice `amount` token wei moved for the deal (see `PaymentDirection` for what each direction means).
    event Payment(
        string dealId, address payee, uint256 amount, PaymentReason reason, PaymentDirection direction
    );
    /// @notice The resource provider posted its result. These strings are stored nowhere else.
    event ResultAdded(string dealId, string resultsId, string dataId, uint256 instructionCount);
    /// @notice The first `agree` created the deal. The only event with the deal ID in clear and the parties
    /// indexed: a client lists a party's deals with two log filters (topic 1, topic 2) instead of a storage
    /// index (see contracts/README.md, "getDealsForParty").
    event DealCreated(string dealId, address indexed jobCreator, address indexed resourceProvider);
    /// @notice The job creator disputed the result of `dealId` (here in clear) and `mediator` was drawn.
    event MediationRequested(string dealId, address indexed mediator);

    /// @param token_ the LP token escrowed by this contract
    /// @param users_ the LilypadUsers registry (reported by `getUsersAddress`)
    /// @param treasury_ receives results collateral slashed by a mediator's rejection
    constructor(IERC20 token_, address users_, address treasury_) {
        if (address(token_) == address(0) || users_ == address(0) || treasury_ == address(0)) {
            revert ZeroAddress();
        }
        _token = token_;
        _users = users_;
        treasury = treasury_;
    }

    modifier nonReentrant() {
        if (_entered) revert ReentrantCall();
        _entered = true;
        _;
        _entered = false;
    }

    // ---------------------------------------------------------------------------------------------------
    // Addresses

    /// @notice The deal storage: this contract.
    function getStorageAddress() external view returns (address) {
        return address(this);
    }

    /// @notice The escrow that parties approve: this contract.
    function getPaymentsAddress() external view returns (address) {
        return address(this);
    }

    /// @notice Where mediators call `mediationAcceptResult` / `mediationRejectResult`: this contract.
    function getMediationAddress() external view returns (address) {
        return address(this);
    }

    /// @notice The service registry.
    function getUsersAddress() external view returns (address) {
        return _users;
    }

    /// @notice The LP token.
    function getTokenAddress() external view returns (address) {
        return address(_token);
    }

    // ---------------------------------------------------------------------------------------------------
    // Agreeing

    /// @notice Agree to a deal as its job creator (locks payment collateral + judge-timeout collateral) or
    /// its resource provider (locks submit-timeout collateral). The first agreement creates the deal; the
    /// second must carry identical terms and moves the deal to `DealAgreed`. A first agreement may also reuse
    /// the ID of a deal that ended in `TimeoutAgree`, or of one still negotiating other terms past its agree
    /// deadline (whose lone party is then refunded exactly as by `timeoutAgree`).
    /// @param dealId the deal's ID (the solver's CID)
    /// @param members solver, job creator, resource provider and 1-16 mediators
    /// @param timeouts seconds and collateral of each waiting step
    /// @param pricing instruction price, payment collateral, results multiple, mediation fee
    /// @return state the deal's state afterwards
    function agree(
        string calldata dealId,
        DealMembers calldata members,
        DealTimeouts calldata timeouts,
        DealPricing calldata pricing
    ) external nonReentrant returns (AgreementState state) {
        return _agree(dealId, members, timeouts, pricing);
    }

    /// @notice `agree` preceded by an EIP-2612 permit for this contract, so a first deal needs one
    /// transaction. If the permit fails but the allowance already covers `permit.value` (someone submitted
    /// the same permit first), the agreement proceeds; otherwise the token's error is re-raised.
    /// @param dealId the deal's ID
    /// @param members the deal's parties
    /// @param timeouts the deal's timeouts
    /// @param pricing the deal's pricing
    /// @param permit the caller's permit (owner = caller, spender = this contract)
    /// @return state the deal's state afterwards
    function agreeWithPermit(
        string calldata dealId,
        DealMembers calldata members,
        DealTimeouts calldata timeouts,
        DealPricing calldata pricing,
        PermitSignature calldata permit
    ) external nonReentrant returns (AgreementState state) {
        try IERC20Permit(address(_token)).permit(
            msg.sender, address(this), permit.value, permit.deadline, permit.v, permit.r, permit.s
        ) {} catch (bytes memory reason) {
            if (_token.allowance(msg.sender, address(this)) < permit.value) {
                assembly ("memory-safe") {
                    revert(add(reason, 0x20), mload(reason))
                }
            }
        }
        return _agree(dealId, members, timeouts, pricing);
    }

    function _agree(
        string calldata dealId,
        DealMembers calldata members,
        DealTimeouts calldata timeouts,
        DealPricing calldata pricing
    ) private returns (AgreementState) {
        bool isJobCreator = msg.sender == members.jobCreator;
        if (!isJobCreator && msg.sender != members.resourceProvider) revert NotAParty();
        if (bytes(dealId).length == 0) revert InvalidTerms(EMPTY_DEAL_ID);
        // Every amount this call stores or pulls is range-checked here, for the first and the second caller.
        _validateNumbers(timeouts, pricing);
        bytes32 key = keccak256(bytes(dealId));
        Deal storage deal = _deals[key];
        Lifecycle memory life = deal.life;
        bytes25 offered = bytes25(hashTerms(dealId, members, timeouts, pricing));

        Party memory expired;
        if (life.agreed != 0) {
            if (life.state == AgreementState.DealNegotiating) {
                bytes25 agreed = _negotiationDigest(life);
                if (agreed == offered || block.timestamp <= life.deadline) {
                    // Second agreement: the same terms (which name both parties), the other party.
                    if (agreed != offered) revert TermsMismatch(agreed, offered);
                    if (life.agreed == (isJobCreator ? JC_AGREED : RP_AGREED)) revert AlreadyAgreed();
                    _secondAgree(dealId, key, deal, isJobCreator, members, timeouts, pricing);
                    return AgreementState.DealAgreed;
                }
                // Other terms after the agree deadline: end the stale negotiation as `timeoutAgree` would
                // (its lone party is refunded below), then start afresh under the same ID.
                expired = _endNegotiation(deal, life, dealId);
            } else if (life.state != AgreementState.TimeoutAgree) {
                revert WrongState(life.state, AgreementState.DealNegotiating);
            }
            // A deal that never got past negotiating wrote only its lone party's word and the lifecycle word
            // (and never `_moreMediators`); clear what the new first agreement does not overwrite.
            if (life.agreed == JC_AGREED) {
                if (!isJobCreator) delete deal.jobCreator;
            } else if (isJobCreator) {
                delete deal.resourceProvider;
            }
            delete _moreMediators[key];
        }

        // First agreement: validate, remember the terms by their digest, lock the caller's share.
        _validateMembers(members);
        deal.life = _negotiation(
            isJobCreator ? JC_AGREED : RP_AGREED, block.timestamp + timeouts.agree.timeout, offered
        );
        emit DealCreated(dealId, members.jobCreator, members.resourceProvider);
        emit DealStateChange(dealId, AgreementState.DealNegotiating);
        _lockAgreement(dealId, deal, isJobCreator, timeouts, pricing);
        _payTo(expired.account, expired.amount);
        return AgreementState.DealNegotiating;
    }

    /// @dev The second agreement: stores the terms (from the caller's calldata, which has the agreed digest)
    /// and the caller's party word, pulls the caller's share.
    function _secondAgree(
        string calldata dealId,
        bytes32 key,
        Deal storage deal,
        bool isJobCreator,
        DealMembers calldata members,
        DealTimeouts calldata timeouts,
        DealPricing calldata pricing
    ) private {
        uint256 judge = timeouts.judgeResults.collateral;
        // The job creator's judge collateral is part of what it locked itself (word 0); a provider agreeing
        // second can never assign it more than that (only reachable with a digest collision).
        if (!isJobCreator && judge > deal.jobCreator.amount) revert InvalidTerms(AMOUNT_TOO_LARGE);
        address[] calldata mediators = members.mediators;
        deal.mediation = Mediation({firstMediator: mediators[0], mediationFee: uint96(pricing.mediationFee)});
        deal.terms = Terms({
            instructionPrice: uint96(pricing.instructionPrice),
            resultsCollateralMultiple: uint32(pricing.resultsCollateralMultiple),
            judgeTimeout: uint32(timeouts.judgeResults.timeout),
            mediateTimeout: uint32(timeouts.mediateResults.timeout),
            instructionCount: 0,
            mediatorIndex: 0
        });
        if (mediators.length > 1) _moreMediators[key] = mediators[1:];
        deal.life = Lifecycle({
            state: AgreementState.DealAgreed,
            agreed: JC_AGREED | RP_AGREED,
            deadline: uint40(block.timestamp + timeouts.submitResults.timeout),
            judgeCollateral: uint96(judge),
            resultsBlock: 0,
            digestTail: 0
        });
        emit DealStateChange(dealId, AgreementState.DealAgreed);
        _lockAgreement(dealId, deal, isJobCreator, timeouts, pricing);
    }

    /// @dev Stores the caller's party word and pulls its share, both from the caller's own calldata only:
    /// payment + judge-timeout collateral from the job creator, submit-timeout collateral from the provider.
    function _lockAgreement(
        string calldata dealId,
        Deal storage deal,
        bool isJobCreator,
        DealTimeouts calldata timeouts,
        DealPricing calldata pricing
    ) private {
        if (isJobCreator) {
            uint256 payment = pricing.paymentCollateral;
            uint256 judge = timeouts.judgeResults.collateral;
            uint256 locked = payment + judge;
            deal.jobCreator = Party({account: msg.sender, amount: uint96(locked)});
            _event(dealId, msg.sender, payment, PaymentReason.PaymentCollateral, PaymentDirection.PaidIn);
            _event(dealId, msg.sender, judge, PaymentReason.TimeoutCollateral, PaymentDirection.PaidIn);
            _pullFrom(msg.sender, locked);
        } else {
            uint256 submit = timeouts.submitResults.collateral;
            deal.resourceProvider = Party({account: msg.sender, amount: uint96(submit)});
            _event(dealId, msg.sender, submit, PaymentReason.TimeoutCollateral, PaymentDirection.PaidIn);
            _pullFrom(msg.sender, submit);
        }
    }

    /// @dev Parties and mediators; checked at the first agreement (the digest binds the second to them).
    function _validateMembers(DealMembers calldata members) private pure {
        address jobCreator = members.jobCreator;
        address resourceProvider = members.resourceProvider;
        if (jobCreator == address(0) || resourceProvider == address(0)) revert InvalidTerms(ZERO_PARTY);
        if (jobCreator == resourceProvider) revert InvalidTerms(SAME_PARTY);
        uint256 count = members.mediators.length;
        if (count == 0 || count > MAX_MEDIATORS) revert InvalidTerms(MEDIATOR_COUNT);
        for (uint256 i = 0; i < count; ++i) {
            address mediator = members.mediators[i];
            if (mediator == address(0) || mediator == jobCreator || mediator == resourceProvider) {
                revert InvalidTerms(BAD_MEDIATOR);
            }
        }
    }

    /// @dev Every number of the terms; checked at both agreements, before anything is narrowed or pulled.
    function _validateNumbers(DealTimeouts calldata timeouts, DealPricing calldata pricing) private pure {
        if (timeouts.agree.collateral != 0 || timeouts.mediateResults.collateral != 0) {
            revert InvalidTerms(NONZERO_UNUSED_COLLATERAL);
        }
        uint256 agreeTimeout = timeouts.agree.timeout;
        uint256 submitTimeout = timeouts.submitResults.timeout;
        uint256 judgeTimeout = timeouts.judgeResults.timeout;
        uint256 mediateTimeout = timeouts.mediateResults.timeout;
        if (
            agreeTimeout == 0 || submitTimeout == 0 || judgeTimeout == 0 || mediateTimeout == 0
                || (agreeTimeout | submitTimeout | judgeTimeout | mediateTimeout) > type(uint32).max
        ) revert InvalidTerms(BAD_TIMEOUT);
        if (agreeTimeout > MAX_AGREE_TIMEOUT) revert InvalidTerms(AGREE_TIMEOUT_TOO_LONG);
        uint256 payment = pricing.paymentCollateral;
        uint256 judge = timeouts.judgeResults.collateral;
        uint256 locked;
        unchecked {
            // Wraps only if one of the two is above 2^96 - 1 already, which the check below catches anyway.
            locked = payment + judge;
        }
        if (
            (pricing.instructionPrice | pricing.mediationFee | timeouts.submitResults.collateral | payment | judge
                    | locked) > type(uint96).max || pricing.resultsCollateralMultiple > type(uint32).max
        ) revert InvalidTerms(AMOUNT_TOO_LARGE);
    }

    // ---------------------------------------------------------------------------------------------------
    // Results

    /// @notice The resource provider posts its result: locks the results collateral
    /// (`resultsCollateralMultiple × instructionPrice × instructionCount`) and gets its submit-timeout
    /// collateral back (only the difference moves). The strings go to the `ResultAdded` event.
    /// @param dealId the deal's ID
    /// @param resultsId the result's ID (may be empty)
    /// @param dataId the content ID of the outputs, which the job creator verifies
    /// @param instructionCount the instructions executed (job cost = instructionPrice × instructionCount)
    function addResult(
        string calldata dealId,
        string calldata resultsId,
        string calldata dataId,
        uint256 instructionCount
    ) external nonReentrant {
        Deal storage deal = _deals[keccak256(bytes(dealId))];
        Lifecycle memory life = _expectState(deal, AgreementState.DealAgreed);
        Party memory provider = deal.resourceProvider;
        if (msg.sender != provider.account) revert NotResourceProvider();
        if (instructionCount > type(uint56).max) revert InstructionCountTooLarge();
        Terms memory terms = deal.terms;

        uint256 resultsCollateral =
            uint256(terms.resultsCollateralMultiple) * terms.instructionPrice * instructionCount;
        deal.terms.instructionCount = uint56(instructionCount);
        life.state = AgreementState.ResultsSubmitted;
        life.deadline = uint40(block.timestamp + terms.judgeTimeout);
        life.resultsBlock = uint64(block.number);
        deal.life = life;

        emit DealStateChange(dealId, AgreementState.ResultsSubmitted);
        emit ResultAdded(dealId, resultsId, dataId, instructionCount);
        _event(dealId, msg.sender, resultsCollateral, PaymentReason.ResultsCollateral, PaymentDirection.PaidIn);
        _event(dealId, msg.sender, provider.amount, PaymentReason.TimeoutCollateral, PaymentDirection.Refunded);
        if (resultsCollateral > provider.amount) _pullFrom(msg.sender, resultsCollateral - provider.amount);
        else _payTo(msg.sender, provider.amount - resultsCollateral);
    }

    /// @notice The job creator accepts the result: the provider is paid
    /// `min(instructionPrice × instructionCount, paymentCollateral)` and gets its results collateral back;
    /// the job creator gets the rest of its payment collateral and its judge-timeout collateral back.
    /// @param dealId the deal's ID
    function acceptResult(string calldata dealId) external nonReentrant {
        Deal storage deal = _deals[keccak256(bytes(dealId))];
        Lifecycle memory life = _expectState(deal, AgreementState.ResultsSubmitted);
        Party memory jobCreator = deal.jobCreator;
        if (msg.sender != jobCreator.account) revert NotJobCreator();
        address provider = deal.resourceProvider.account;
        Split memory split = _split(deal.terms, jobCreator, life);
        _close(deal, life, dealId, AgreementState.ResultsAccepted);

        _event(dealId, provider, split.payment, PaymentReason.JobPayment, PaymentDirection.PaidOut);
        _event(dealId, provider, split.resultsCollateral, PaymentReason.ResultsCollateral, PaymentDirection.Refunded);
        _event(dealId, msg.sender, split.paymentRefund, PaymentReason.PaymentCollateral, PaymentDirection.Refunded);
        _event(dealId, msg.sender, split.judgeCollateral, PaymentReason.TimeoutCollateral, PaymentDirection.Refunded);
        _payTo(provider, split.payment + split.resultsCollateral);
        _payTo(msg.sender, split.paymentRefund + split.judgeCollateral);
    }

    /// @notice The job creator disputes the result: its judge-timeout collateral is returned, the mediation
    /// fee is locked (only the difference moves) and a mediator is drawn from the deal's mediators.
    /// @param dealId the deal's ID
    function checkResult(string calldata dealId) external nonReentrant {
        bytes32 key = keccak256(bytes(dealId));
        Deal storage deal = _deals[key];
        Lifecycle memory life = _expectState(deal, AgreementState.ResultsSubmitted);
        if (msg.sender != deal.jobCreator.account) revert NotJobCreator();
        Terms memory terms = deal.terms;
        Mediation memory mediation = deal.mediation;

        uint256 count = 1 + _moreMediators[key].length;
        uint256 index = uint256(keccak256(abi.encode(block.prevrandao, block.timestamp, key))) % count;
        address mediator = index == 0 ? mediation.firstMediator : _moreMediators[key][index - 1];
        if (index != 0) deal.terms.mediatorIndex = uint8(index);
        life.state = AgreementState.ResultsChecked;
        life.deadline = uint40(block.timestamp + terms.mediateTimeout);
        deal.life = life;

        emit DealStateChange(dealId, AgreementState.ResultsChecked);
        emit MediationRequested(dealId, mediator);
        uint256 refund = life.judgeCollateral;
        uint256 fee = mediation.mediationFee;
        _event(dealId, msg.sender, refund, PaymentReason.TimeoutCollateral, PaymentDirection.Refunded);
        _event(dealId, msg.sender, fee, PaymentReason.MediationFee, PaymentDirection.PaidIn);
        if (fee > refund) _pullFrom(msg.sender, fee - refund);
        else _payTo(msg.sender, refund - fee);
    }

    // ---------------------------------------------------------------------------------------------------
    // Mediation

    /// @notice The chosen mediator upholds the result: the provider is paid as on `acceptResult` and gets its
    /// results collateral back, the mediator earns the fee, the job creator gets the rest of its payment
    /// collateral back.
    /// @param dealId the deal's ID
    function mediationAcceptResult(string calldata dealId) external nonReentrant {
        bytes32 key = keccak256(bytes(dealId));
        Deal storage deal = _deals[key];
        Lifecycle memory life = _expectState(deal, AgreementState.ResultsChecked);
        Terms memory terms = deal.terms;
        uint256 fee = _onlyMediator(key, deal, terms);
        Party memory jobCreator = deal.jobCreator;
        address provider = deal.resourceProvider.account;
        Split memory split = _split(terms, jobCreator, life);
        _close(deal, life, dealId, AgreementState.MediationAccepted);

        _event(dealId, provider, split.payment, PaymentReason.JobPayment, PaymentDirection.PaidOut);
        _event(dealId, provider, split.resultsCollateral, PaymentReason.ResultsCollateral, PaymentDirection.Refunded);
        _event(dealId, msg.sender, fee, PaymentReason.MediationFee, PaymentDirection.PaidOut);
        _event(
            dealId, jobCreator.account, split.paymentRefund, PaymentReason.PaymentCollateral, PaymentDirection.Refunded
        );
        _payTo(provider, split.payment + split.resultsCollateral);
        _payTo(msg.sender, fee);
        _payTo(jobCreator.account, split.paymentRefund);
    }

    /// @notice The chosen mediator rejects the result: the job creator gets its whole payment collateral
    /// back, the mediator earns the fee, the provider's results collateral is slashed to the treasury.
    /// @param dealId the deal's ID
    function mediationRejectResult(string calldata dealId) external nonReentrant {
        bytes32 key = keccak256(bytes(dealId));
        Deal storage deal = _deals[key];
        Lifecycle memory life = _expectState(deal, AgreementState.ResultsChecked);
        Terms memory terms = deal.terms;
        uint256 fee = _onlyMediator(key, deal, terms);
        Party memory jobCreator = deal.jobCreator;
        address provider = deal.resourceProvider.account;
        Split memory split = _split(terms, jobCreator, life);
        _close(deal, life, dealId, AgreementState.MediationRejected);

        uint256 paymentCollateral = split.payment + split.paymentRefund;
        _event(
            dealId, jobCreator.account, paymentCollateral, PaymentReason.PaymentCollateral, PaymentDirection.Refunded
        );
        _event(dealId, msg.sender, fee, PaymentReason.MediationFee, PaymentDirection.PaidOut);
        _event(dealId, provider, split.resultsCollateral, PaymentReason.ResultsCollateral, PaymentDirection.Slashed);
        _event(dealId, treasury, split.resultsCollateral, PaymentReason.ResultsCollateral, PaymentDirection.PaidOut);
        _payTo(jobCreator.account, paymentCollateral);
        _payTo(msg.sender, fee);
        _payTo(treasury, split.resultsCollateral);
    }

    /// @notice The mediator drawn for `dealId` (zero until the job creator calls `checkResult`).
    /// @param dealId the deal's ID
    /// @return the mediator's address
    function getMediator(string calldata dealId) external view returns (address) {
        bytes32 key = keccak256(bytes(dealId));
        Deal storage deal = _deals[key];
        AgreementState state = deal.life.state;
        if (
            state != AgreementState.ResultsChecked && state != AgreementState.MediationAccepted
                && state != AgreementState.MediationRejected && state != AgreementState.TimeoutMediateResults
        ) return address(0);
        return _mediatorAt(key, deal.terms.mediatorIndex, deal.mediation.firstMediator);
    }

    // ---------------------------------------------------------------------------------------------------
    // Timeouts

    /// @notice After the agree deadline, the party that agreed alone takes its collateral back. The deal ID
    /// is then free: a new first `agree` starts a fresh deal under it.
    /// @param dealId the deal's ID
    function timeoutAgree(string calldata dealId) external nonReentrant {
        Deal storage deal = _deals[keccak256(bytes(dealId))];
        Lifecycle memory life = _expectState(deal, AgreementState.DealNegotiating);
        if (msg.sender != (life.agreed == JC_AGREED ? deal.jobCreator.account : deal.resourceProvider.account)) {
            revert NotAParty();
        }
        _expectDeadlinePassed(life);
        Party memory party = _endNegotiation(deal, life, dealId);
        _payTo(party.account, party.amount);
    }

    /// @dev Ends a negotiation as `TimeoutAgree`: clears the digest, announces the refund of everything the
    /// lone party locked and returns that party (the caller transfers). The job creator's P + J come back as
    /// one `PaymentCollateral` leg: the split is stored only once both agreed.
    function _endNegotiation(Deal storage deal, Lifecycle memory life, string calldata dealId)
        private
        returns (Party memory party)
    {
        bool jobCreatorAgreed = life.agreed == JC_AGREED;
        party = jobCreatorAgreed ? deal.jobCreator : deal.resourceProvider;
        life.judgeCollateral = 0;
        life.resultsBlock = 0;
        life.digestTail = 0;
        _close(deal, life, dealId, AgreementState.TimeoutAgree);
        _event(
            dealId,
            party.account,
            party.amount,
            jobCreatorAgreed ? PaymentReason.PaymentCollateral : PaymentReason.TimeoutCollateral,
            PaymentDirection.Refunded
        );
    }

    /// @notice After the submit deadline with no result, the job creator takes back its payment and
    /// judge-timeout collateral and receives the provider's slashed submit-timeout collateral.
    /// @param dealId the deal's ID
    function timeoutSubmitResult(string calldata dealId) external nonReentrant {
        Deal storage deal = _deals[keccak256(bytes(dealId))];
        Lifecycle memory life = _expectState(deal, AgreementState.DealAgreed);
        Party memory jobCreator = deal.jobCreator;
        if (msg.sender != jobCreator.account) revert NotJobCreator();
        _expectDeadlinePassed(life);
        Party memory provider = deal.resourceProvider;
        _close(deal, life, dealId, AgreementState.TimeoutSubmitResults);

        uint256 judge = life.judgeCollateral;
        _event(
            dealId, msg.sender, jobCreator.amount - judge, PaymentReason.PaymentCollateral, PaymentDirection.Refunded
        );
        _event(dealId, msg.sender, judge, PaymentReason.TimeoutCollateral, PaymentDirection.Refunded);
        _event(dealId, provider.account, provider.amount, PaymentReason.TimeoutCollateral, PaymentDirection.Slashed);
        _event(dealId, msg.sender, provider.amount, PaymentReason.TimeoutCollateral, PaymentDirection.PaidOut);
        _payTo(msg.sender, uint256(jobCreator.amount) + provider.amount);
    }

    /// @notice After the judge deadline with no judgement, the result counts as accepted: the provider is paid,
    /// gets its results collateral back and receives the job creator's slashed judge-timeout collateral; the
    /// job creator gets the rest of its payment collateral back.
    /// @param dealId the deal's ID
    function timeoutJudgeResult(string calldata dealId) external nonReentrant {
        Deal storage deal = _deals[keccak256(bytes(dealId))];
        Lifecycle memory life = _expectState(deal, AgreementState.ResultsSubmitted);
        if (msg.sender != deal.resourceProvider.account) revert NotResourceProvider();
        _expectDeadlinePassed(life);
        Party memory jobCreator = deal.jobCreator;
        Split memory split = _split(deal.terms, jobCreator, life);
        _close(deal, life, dealId, AgreementState.TimeoutJudgeResults);

        _event(dealId, msg.sender, split.payment, PaymentReason.JobPayment, PaymentDirection.PaidOut);
        _event(dealId, msg.sender, split.resultsCollateral, PaymentReason.ResultsCollateral, PaymentDirection.Refunded);
        _event(
            dealId, jobCreator.account, split.judgeCollateral, PaymentReason.TimeoutCollateral, PaymentDirection.Slashed
        );
        _event(dealId, msg.sender, split.judgeCollateral, PaymentReason.TimeoutCollateral, PaymentDirection.PaidOut);
        _event(
            dealId, jobCreator.account, split.paymentRefund, PaymentReason.PaymentCollateral, PaymentDirection.Refunded
        );
        _payTo(msg.sender, split.payment + split.resultsCollateral + split.judgeCollateral);
        _payTo(jobCreator.account, split.paymentRefund);
    }

    /// @notice After the mediation deadline with no ruling, either party ends the deal: the job creator gets
    /// its payment collateral and the mediation fee back, the provider its results collateral.
    /// @param dealId the deal's ID
    function timeoutMediateResult(string calldata dealId) external nonReentrant {
        Deal storage deal = _deals[keccak256(bytes(dealId))];
        Lifecycle memory life = _expectState(deal, AgreementState.ResultsChecked);
        Party memory jobCreator = deal.jobCreator;
        address provider = deal.resourceProvider.account;
        if (msg.sender != jobCreator.account && msg.sender != provider) revert NotAParty();
        _expectDeadlinePassed(life);
        uint256 fee = deal.mediation.mediationFee;
        Split memory split = _split(deal.terms, jobCreator, life);
        _close(deal, life, dealId, AgreementState.TimeoutMediateResults);

        uint256 paymentCollateral = split.payment + split.paymentRefund;
        _event(
            dealId, jobCreator.account, paymentCollateral, PaymentReason.PaymentCollateral, PaymentDirection.Refunded
        );
        _event(dealId, jobCreator.account, fee, PaymentReason.MediationFee, PaymentDirection.Refunded);
        _event(dealId, provider, split.resultsCollateral, PaymentReason.ResultsCollateral, PaymentDirection.Refunded);
        _payTo(jobCreator.account, paymentCollateral + fee);
        _payTo(provider, split.resultsCollateral);
    }

    // ---------------------------------------------------------------------------------------------------
    // Views

    /// @notice Whether a deal with this ID exists (someone agreed to it).
    /// @param dealId the deal's ID
    function hasDeal(string calldata dealId) external view returns (bool) {
        return _deals[keccak256(bytes(dealId))].life.agreed != 0;
    }

    /// @notice Whether the deal exists and is in `state`.
    /// @param dealId the deal's ID
    /// @param state the state to test
    function isState(string calldata dealId, AgreementState state) external view returns (bool) {
        Lifecycle storage life = _deals[keccak256(bytes(dealId))].life;
        return life.agreed != 0 && life.state == state;
    }

    /// @notice The stored terms and parties of a deal (see `DealView`). Reverts `UnknownDeal`.
    /// @param dealId the deal's ID
    function getDeal(string calldata dealId) external view returns (DealView memory view_) {
        bytes32 key = keccak256(bytes(dealId));
        Deal storage deal = _deals[key];
        Lifecycle memory life = deal.life;
        if (life.agreed == 0) revert UnknownDeal();
        view_.dealId = dealId;
        view_.state = life.state;
        view_.jobCreator = deal.jobCreator.account;
        view_.resourceProvider = deal.resourceProvider.account;
        view_.submitResultsCollateral = deal.resourceProvider.amount;
        uint256 jobCreatorLocked = deal.jobCreator.amount;
        if (life.state == AgreementState.DealNegotiating || life.state == AgreementState.TimeoutAgree) {
            // Only the first party's word (and, while negotiating, the terms digest) exist. The job creator's
            // word holds everything it locked, P + J; the split is stored only once both agreed.
            view_.paymentCollateral = jobCreatorLocked;
            if (life.state == AgreementState.DealNegotiating) view_.termsDigest = _negotiationDigest(life);
            return view_;
        }
        view_.judgeResultsCollateral = life.judgeCollateral;
        view_.paymentCollateral = jobCreatorLocked - life.judgeCollateral;
        Terms memory terms = deal.terms;
        address[] storage more = _moreMediators[key];
        view_.mediators = new address[](1 + more.length);
        view_.mediators[0] = deal.mediation.firstMediator;
        for (uint256 i = 0; i < more.length; ++i) {
            view_.mediators[i + 1] = more[i];
        }
        view_.instructionPrice = terms.instructionPrice;
        view_.resultsCollateralMultiple = terms.resultsCollateralMultiple;
        view_.mediationFee = deal.mediation.mediationFee;
        view_.judgeResultsTimeout = terms.judgeTimeout;
        view_.mediateResultsTimeout = terms.mediateTimeout;
    }

    /// @notice The deal's state, who agreed, and its timestamps (see `AgreementView`). Reverts `UnknownDeal`.
    /// @param dealId the deal's ID
    function getAgreement(string calldata dealId) external view returns (AgreementView memory view_) {
        Lifecycle memory life = _deals[keccak256(bytes(dealId))].life;
        if (life.agreed == 0) revert UnknownDeal();
        view_.state = life.state;
        view_.jobCreatorAgreed = life.agreed & JC_AGREED != 0;
        view_.resourceProviderAgreed = life.agreed & RP_AGREED != 0;
        if (_isTerminal(life.state)) view_.closedAt = life.deadline;
        else view_.deadline = life.deadline;
    }

    /// @notice The result's instruction count, costs, and the block whose `ResultAdded` event holds its
    /// strings (all zero before `addResult`). Reverts `UnknownDeal`.
    /// @param dealId the deal's ID
    function getResult(string calldata dealId) external view returns (ResultView memory view_) {
        Deal storage deal = _deals[keccak256(bytes(dealId))];
        Lifecycle memory life = deal.life;
        if (life.agreed == 0) revert UnknownDeal();
        view_.dealId = dealId;
        if (life.state == AgreementState.DealNegotiating || life.resultsBlock == 0) return view_;
        Terms memory terms = deal.terms;
        view_.instructionCount = terms.instructionCount;
        view_.jobCost = uint256(terms.instructionPrice) * terms.instructionCount;
        view_.resultsCollateral = view_.jobCost * terms.resultsCollateralMultiple;
        view_.resultsBlock = life.resultsBlock;
    }

    /// @notice The hash the two agreements are matched by:
    /// keccak256(abi.encode(dealId, members, timeouts, pricing)). While negotiating, the contract keeps its
    /// first 25 bytes (200 bits: a collision takes about 2^100 hashes); the deal ID is included so a digest
    /// cannot be reused across deals.
    /// @param dealId the deal's ID
    /// @param members the deal's parties
    /// @param timeouts the deal's timeouts
    /// @param pricing the deal's pricing
    function hashTerms(
        string calldata dealId,
        DealMembers calldata members,
        DealTimeouts calldata timeouts,
        DealPricing calldata pricing
    ) public pure returns (bytes32 hash) {
        // Equal to keccak256(abi.encode(dealId, members, timeouts, pricing)), built by copying the decoded
        // calldata into the canonical ABI layout in scratch memory (cheaper than the generic encoder). An
        // address with dirty upper bits is hashed as sent, so it can only fail to match, never match falsely.
        address[] calldata mediators = members.mediators;
        assembly ("memory-safe") {
            let ptr := mload(0x40)
            let idLength := dealId.length
            let idPadded := and(add(idLength, 31), not(31))
            // Head: offset of dealId, offset of members, timeouts (8 words), pricing (4 words).
            mstore(ptr, 0x1c0)
            mstore(add(ptr, 0x20), add(0x1e0, idPadded))
            calldatacopy(add(ptr, 0x40), timeouts, 0x100)
            calldatacopy(add(ptr, 0x140), pricing, 0x80)
            // dealId: length, then the bytes zero-padded to a whole word.
            mstore(add(ptr, 0x1c0), idLength)
            mstore(add(ptr, add(0x1c0, idPadded)), 0)
            calldatacopy(add(ptr, 0x1e0), dealId.offset, idLength)
            // members: solver, jobCreator, resourceProvider, offset of mediators, then the array.
            let m := add(ptr, add(0x1e0, idPadded))
            calldatacopy(m, members, 0x60)
            mstore(add(m, 0x60), 0x80)
            let count := mediators.length
            mstore(add(m, 0x80), count)
            calldatacopy(add(m, 0xa0), mediators.offset, shl(5, count))
            hash := keccak256(ptr, sub(add(m, add(0xa0, shl(5, count))), ptr))
        }
    }

    // ---------------------------------------------------------------------------------------------------
    // Internals

    /// @dev How the tokens of a submitted result divide: `payment` to the provider (job cost capped by the
    /// payment collateral), `paymentRefund` (the rest of the payment collateral) to the job creator,
    /// `resultsCollateral` locked by the provider, `judgeCollateral` locked by the job creator.
    struct Split {
        uint256 payment;
        uint256 paymentRefund;
        uint256 resultsCollateral;
        uint256 judgeCollateral;
    }

    function _split(Terms memory terms, Party memory jobCreator, Lifecycle memory life)
        private
        pure
        returns (Split memory split)
    {
        split.judgeCollateral = life.judgeCollateral;
        uint256 paymentCollateral = jobCreator.amount - split.judgeCollateral;
        uint256 jobCost = uint256(terms.instructionPrice) * terms.instructionCount;
        split.payment = jobCost < paymentCollateral ? jobCost : paymentCollateral;
        split.paymentRefund = paymentCollateral - split.payment;
        split.resultsCollateral = jobCost * terms.resultsCollateralMultiple;
    }

    function _expectState(Deal storage deal, AgreementState expected) private view returns (Lifecycle memory life) {
        life = deal.life;
        if (life.agreed == 0) revert UnknownDeal();
        if (life.state != expected) revert WrongState(life.state, expected);
    }

    function _expectDeadlinePassed(Lifecycle memory life) private view {
        if (block.timestamp <= life.deadline) revert TooEarly(life.deadline);
    }

    /// @dev Terminal transition: record the state and the closing time, announce it.
    function _close(Deal storage deal, Lifecycle memory life, string calldata dealId, AgreementState state)
        private
    {
        life.state = state;
        life.deadline = uint40(block.timestamp);
        deal.life = life;
        emit DealStateChange(dealId, state);
    }

    /// @dev Reverts unless the caller is the drawn mediator; returns the mediation fee.
    function _onlyMediator(bytes32 key, Deal storage deal, Terms memory terms) private view returns (uint256) {
        Mediation memory mediation = deal.mediation;
        if (msg.sender != _mediatorAt(key, terms.mediatorIndex, mediation.firstMediator)) revert NotMediator();
        return mediation.mediationFee;
    }

    function _mediatorAt(bytes32 key, uint8 index, address first) private view returns (address) {
        return index == 0 ? first : _moreMediators[key][index - 1];
    }

    function _isTerminal(AgreementState state) private pure returns (bool) {
        return state == AgreementState.ResultsAccepted || state >= AgreementState.MediationAccepted;
    }

    /// @dev While negotiating, the terms digest lives in the lifecycle word (see `Lifecycle`):
    /// judgeCollateral (high 96 bits), resultsBlock (64), digestTail (low 40).
    function _negotiationDigest(Lifecycle memory life) private pure returns (bytes25) {
        return bytes25(
            (uint200(life.judgeCollateral) << 104) | (uint200(life.resultsBlock) << 40) | uint200(life.digestTail)
        );
    }

    /// @dev The lifecycle word of a deal one party agreed to, holding the digest of its terms.
    function _negotiation(uint8 agreed, uint256 deadline, bytes25 digest) private pure returns (Lifecycle memory) {
        uint200 bits = uint200(digest);
        return Lifecycle({
            state: AgreementState.DealNegotiating,
            agreed: agreed,
            deadline: uint40(deadline),
            judgeCollateral: uint96(bits >> 104),
            resultsBlock: uint64(bits >> 40),
            digestTail: uint40(bits)
        });
    }

    function _event(
        string calldata dealId,
        address payee,
        uint256 amount,
        PaymentReason reason,
        PaymentDirection direction
    ) private {
        if (amount != 0) emit Payment(dealId, payee, amount, reason, direction);
    }

    function _pullFrom(address from, uint256 amount) private {
        if (amount != 0) _token.safeTransferFrom(from, address(this), amount);
    }

    function _payTo(address to, uint256 amount) private {
        if (amount != 0) _token.safeTransfer(to, amount);
    }
}
