//! What each business role may do. Platform roles never grant access to a business's data.

use events::catalog::Role;

/// Something a member may be allowed to do in a business.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Permission {
    /// Read the business, its hours, services, staff, number, agent and members.
    View,
    /// Change services, staff and opening hours.
    ManageCatalog,
    /// Change the profile, the agent, voice booking and the phone number.
    ManageBusiness,
    /// Add, change and remove members.
    ManageMembers,
    /// Read usage and invoices.
    ViewBilling,
    /// Choose the plan the business is billed on.
    ManagePlan,
}

/// The role matrix:
///
/// | role    | view | catalog (services, staff, hours) | business (profile, agent, number) | members |
/// |---------|------|----------------------------------|-----------------------------------|---------|
/// | owner   | yes  | yes                              | yes                               | yes     |
/// | admin   | yes  | yes                              | yes                               | yes (not owners) |
/// | manager | yes  | yes                              | no                                | no      |
/// | staff   | yes  | no                               | no                                | no      |
/// | viewer  | yes  | no                               | no                                | no      |
///
/// Usage and invoices (`ViewBilling`) are for owners and admins; choosing the plan (`ManagePlan`) for owners
/// (and, outside this matrix, platform admins).
pub fn allows(role: Role, permission: Permission) -> bool {
    match permission {
        Permission::View => true,
        Permission::ManageCatalog => matches!(role, Role::Owner | Role::Admin | Role::Manager),
        Permission::ManageBusiness | Permission::ManageMembers | Permission::ViewBilling => {
            matches!(role, Role::Owner | Role::Admin)
        }
        Permission::ManagePlan => role == Role::Owner,
    }
}
