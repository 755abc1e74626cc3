//! The roles of DOMAIN.md. A staff user holds one or more; a customer holds `customer`.

use serde::{Deserialize, Serialize};

string_enum! {
    /// Who is calling: a member of staff or a customer (the app).
    pub enum ActorKind { Staff = "staff", Customer = "customer" }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    ServiceManager,
    ServiceSupervisor,
    ServiceAdvisor,
    WorkshopForeman,
    Technician,
    QcInspector,
    WarrantyClerk,
    CustomerCare,
    Parts,
    Cashier,
    ToolKeeper,
    DealerAdmin,
    NetworkAdmin,
    Customer,
}

impl Role {
    pub const ALL: [Role; 14] = [
        Role::ServiceManager,
        Role::ServiceSupervisor,
        Role::ServiceAdvisor,
        Role::WorkshopForeman,
        Role::Technician,
        Role::QcInspector,
        Role::WarrantyClerk,
        Role::CustomerCare,
        Role::Parts,
        Role::Cashier,
        Role::ToolKeeper,
        Role::DealerAdmin,
        Role::NetworkAdmin,
        Role::Customer,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::ServiceManager => "service_manager",
            Role::ServiceSupervisor => "service_supervisor",
            Role::ServiceAdvisor => "service_advisor",
            Role::WorkshopForeman => "workshop_foreman",
            Role::Technician => "technician",
            Role::QcInspector => "qc_inspector",
            Role::WarrantyClerk => "warranty_clerk",
            Role::CustomerCare => "customer_care",
            Role::Parts => "parts",
            Role::Cashier => "cashier",
            Role::ToolKeeper => "tool_keeper",
            Role::DealerAdmin => "dealer_admin",
            Role::NetworkAdmin => "network_admin",
            Role::Customer => "customer",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == s)
    }

    /// Staff roles are every role but `customer`.
    pub fn is_staff(self) -> bool {
        self != Role::Customer
    }
}

/// Who opens a rescue (24小时救援) for a customer who calls: the advisors,
/// the customer centre and the managers (a customer opens their own).
pub const RESCUE_CALL_TAKERS: &[Role] = &[
    Role::ServiceAdvisor,
    Role::CustomerCare,
    Role::ServiceManager,
    Role::ServiceSupervisor,
    Role::DealerAdmin,
];

/// Who works rescues (lists them, takes, dispatches and closes them): the
/// call takers and the workshop people who go out (foremen, technicians).
pub const RESCUE_HANDLERS: &[Role] = &[
    Role::ServiceAdvisor,
    Role::CustomerCare,
    Role::ServiceManager,
    Role::ServiceSupervisor,
    Role::DealerAdmin,
    Role::WorkshopForeman,
    Role::Technician,
];

/// Who keeps the on-duty roster and reads the response report.
pub const RESCUE_ROSTER_KEEPERS: &[Role] = &[
    Role::ServiceManager,
    Role::ServiceSupervisor,
    Role::DealerAdmin,
];

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_role_round_trips_through_its_name_and_serde() {
        for r in Role::ALL {
            assert_eq!(Role::parse(r.as_str()), Some(r));
            assert_eq!(
                serde_json::to_string(&r).unwrap(),
                format!("\"{}\"", r.as_str())
            );
        }
        assert_eq!(Role::parse("boss"), None);
    }
}
