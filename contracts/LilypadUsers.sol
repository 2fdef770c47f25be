// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {ServiceType, User} from "./LilypadTypes.sol";

/// @title Lilypad service registry
/// @notice Services (solver, mediators, resource providers, job creators) publish a metadata CID, a URL and
/// their roles, then list themselves per role so clients can discover them (a job creator reads the solver's
/// URL with `getUser(solver).url`). Every call acts for `msg.sender` only; there is no owner.
contract LilypadUsers {
    /// @notice Number of `ServiceType` values.
    uint256 private constant SERVICE_TYPES = 4;

    mapping(address => User) private _users;
    /// @dev Per role: the listed addresses, and each address's 1-based position in that list (0 = absent).
    mapping(ServiceType => address[]) private _lists;
    mapping(ServiceType => mapping(address => uint256)) private _positions;

    /// @notice The caller has no registration yet (call `updateUser` first).
    error UserNotFound(address user);
    /// @notice The caller tried to list itself for a role its registration does not claim.
    error RoleNotHeld(address user, ServiceType serviceType);

    /// @notice A registration was created or changed.
    event UserUpdated(address indexed user, string metadataCID, string url, ServiceType[] roles);
    /// @notice `user` was added to the list of `serviceType`.
    event UserListed(address indexed user, ServiceType indexed serviceType);
    /// @notice `user` was removed from the list of `serviceType`.
    event UserUnlisted(address indexed user, ServiceType indexed serviceType);

    /// @notice Creates or replaces the caller's registration. Listings for roles the new registration no
    /// longer claims are removed.
    /// @param metadataCID content ID of the service's metadata (may be empty)
    /// @param url where the service can be reached (the solver's HTTP API, for instance)
    /// @param roles the roles the caller claims
    function updateUser(string calldata metadataCID, string calldata url, ServiceType[] calldata roles) external {
        User storage user = _users[msg.sender];
        user.userAddress = msg.sender;
        user.metadataCID = metadataCID;
        user.url = url;
        user.roles = roles;
        for (uint256 i = 0; i < SERVICE_TYPES; ++i) {
            ServiceType serviceType = ServiceType(i);
            if (_positions[serviceType][msg.sender] != 0 && !_holds(roles, serviceType)) {
                _unlist(msg.sender, serviceType);
            }
        }
        emit UserUpdated(msg.sender, metadataCID, url, roles);
    }

    /// @notice The registration of `userAddress` (all fields empty when it never registered).
    /// @param userAddress the service's address
    /// @return the stored registration
    function getUser(address userAddress) external view returns (User memory) {
        return _users[userAddress];
    }

    /// @notice Lists the caller under `serviceType`. The caller must be registered with that role. Listing
    /// twice is a no-op, so a service can call this on every start.
    /// @param serviceType the role to be listed for
    function addUserToList(ServiceType serviceType) external {
        User storage user = _users[msg.sender];
        if (user.userAddress == address(0)) revert UserNotFound(msg.sender);
        if (!_holds(user.roles, serviceType)) revert RoleNotHeld(msg.sender, serviceType);
        if (_positions[serviceType][msg.sender] != 0) return;
        _lists[serviceType].push(msg.sender);
        _positions[serviceType][msg.sender] = _lists[serviceType].length;
        emit UserListed(msg.sender, serviceType);
    }

    /// @notice Removes the caller from the list of `serviceType`; a no-op when it is not listed.
    /// @param serviceType the role to be unlisted from
    function removeUserFromList(ServiceType serviceType) external {
        if (_positions[serviceType][msg.sender] != 0) _unlist(msg.sender, serviceType);
    }

    /// @notice The addresses listed under `serviceType` (order changes when someone is removed).
    /// @param serviceType the role
    /// @return the listed addresses
    function showUsersInList(ServiceType serviceType) external view returns (address[] memory) {
        return _lists[serviceType];
    }

    /// @dev Swap-and-pop removal; the caller checked that `account` is listed.
    function _unlist(address account, ServiceType serviceType) private {
        address[] storage list = _lists[serviceType];
        uint256 index = _positions[serviceType][account] - 1;
        address last = list[list.length - 1];
        list[index] = last;
        _positions[serviceType][last] = index + 1;
        list.pop();
        delete _positions[serviceType][account];
        emit UserUnlisted(account, serviceType);
    }

    function _holds(ServiceType[] memory roles, ServiceType serviceType) private pure returns (bool) {
        for (uint256 i = 0; i < roles.length; ++i) {
            if (roles[i] == serviceType) return true;
        }
        return false;
    }
}
