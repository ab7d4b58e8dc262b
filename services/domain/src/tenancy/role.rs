//! What each business role may do. Of the platform roles only `auditor` reaches a business's data, and
//! only to read it ([`allows_auditor`]).

use events::catalog::Role;

/// Something a member may be allowed to do in a business.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Permission {
    /// Read the business, its hours, services, staff, number, agent, members, calls and appointments.
    View,
    /// Hold, book, cancel and reschedule appointments (staff answer phones too, so every member may).
    Book,
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
    /// Read the business's raw event history with hashes (`/audit/*`).
    Audit,
}

/// The role matrix:
///
/// | role    | view | book | catalog (services, staff, hours) | business (profile, agent, number) | members | audit |
/// |---------|------|------|----------------------------------|-----------------------------------|---------|-------|
/// | owner   | yes  | yes  | yes                              | yes                               | yes     | yes   |
/// | admin   | yes  | yes  | yes                              | yes                               | yes (not owners) | yes |
/// | manager | yes  | yes  | yes                              | no                                | no      | no    |
/// | staff   | yes  | yes  | no                               | no                                | no      | no    |
/// | viewer  | yes  | yes  | no                               | no                                | no      | no    |
///
/// Viewers may book: booking used to be checked as `View` and this keeps what viewers could do.
///
/// Usage and invoices (`ViewBilling`) are for owners and admins; choosing the plan (`ManagePlan`) for owners
/// (and, outside this matrix, platform admins).
pub fn allows(role: Role, permission: Permission) -> bool {
    match permission {
        Permission::View | Permission::Book => true,
        Permission::ManageCatalog => matches!(role, Role::Owner | Role::Admin | Role::Manager),
        Permission::ManageBusiness
        | Permission::ManageMembers
        | Permission::Audit
        | Permission::ViewBilling => {
            matches!(role, Role::Owner | Role::Admin)
        }
        Permission::ManagePlan => role == Role::Owner,
    }
}

/// What a platform auditor who is not a member may do in any business: look, never change.
/// (`/audit/*` is authorised separately: auditors read every tenant's history there.)
pub fn allows_auditor(permission: Permission) -> bool {
    matches!(permission, Permission::View)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_auditor_may_only_look() {
        assert!(allows_auditor(Permission::View));
        for p in [
            Permission::Book,
            Permission::ManageCatalog,
            Permission::ManageBusiness,
            Permission::ManageMembers,
            Permission::Audit,
        ] {
            assert!(!allows_auditor(p), "{p:?}");
        }
    }

    #[test]
    fn only_owners_and_admins_read_their_business_history() {
        assert!(allows(Role::Owner, Permission::Audit));
        assert!(allows(Role::Admin, Permission::Audit));
        assert!(!allows(Role::Manager, Permission::Audit));
        assert!(!allows(Role::Staff, Permission::Audit));
        assert!(!allows(Role::Viewer, Permission::Audit));
        assert!(allows(Role::Viewer, Permission::Book));
    }
}
