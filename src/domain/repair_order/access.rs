//! Who may do what to a repair order: one table, read by every use case.
//! A customer acts only on their own orders (the use case checks whose);
//! here is only which roles may act at all.

use crate::domain::Role;

string_enum! {
    /// Everything that can be done to an order, as the role table knows it.
    pub enum Act {
        /// Read the order, its timeline, photos and documents.
        Read = "read",
        /// Open an order (接车/制单).
        Open = "open",
        /// Change the order's header, its jobs before acceptance, make an estimate.
        Edit = "edit",
        /// Accept an estimate: the customer in the app, or signed on the advisor's tablet.
        AcceptEstimate = "accept_estimate",
        /// The walk-around (环车检查) and its photos.
        Walkaround = "walkaround",
        /// Add a photo.
        Photo = "photo",
        /// The health check (健康车检).
        HealthCheck = "health_check",
        /// Propose extra work (追加维修).
        ProposeExtraWork = "propose_extra_work",
        /// Approve or decline a line of extra work.
        AnswerExtraWork = "answer_extra_work",
        /// Dispatch a job to a technician (派工).
        Dispatch = "dispatch",
        /// Clock on and off a job.
        Clock = "clock",
        /// The technician's self-check.
        QcSelf = "qc_self",
        /// The foreman's check.
        QcForeman = "qc_foreman",
        /// The final inspection.
        QcFinal = "qc_final",
        /// Mark the car washed.
        Wash = "wash",
        /// Take a payment.
        Pay = "pay",
        /// Hand the car over.
        Deliver = "deliver",
        /// Cancel before any work.
        Cancel = "cancel",
    }
}

use Role::*;

const ADVISORS: &[Role] = &[ServiceAdvisor, ServiceSupervisor, ServiceManager];

/// The table: for each act, the roles that may do it.
pub fn roles(act: Act) -> &'static [Role] {
    match act {
        Act::Read => &[
            ServiceAdvisor,
            ServiceSupervisor,
            ServiceManager,
            WorkshopForeman,
            Technician,
            QcInspector,
            Cashier,
            WarrantyClerk,
            Parts,
            CustomerCare,
            DealerAdmin,
            NetworkAdmin,
            Customer,
        ],
        Act::Open | Act::Edit | Act::ProposeExtraWork | Act::Deliver | Act::Cancel => ADVISORS,
        Act::AcceptEstimate | Act::AnswerExtraWork => {
            &[ServiceAdvisor, ServiceSupervisor, ServiceManager, Customer]
        }
        Act::Walkaround => ADVISORS,
        Act::Photo => &[
            ServiceAdvisor,
            ServiceSupervisor,
            ServiceManager,
            WorkshopForeman,
            Technician,
            QcInspector,
        ],
        Act::HealthCheck => &[
            ServiceAdvisor,
            ServiceSupervisor,
            ServiceManager,
            WorkshopForeman,
            Technician,
        ],
        Act::Dispatch => &[
            WorkshopForeman,
            ServiceAdvisor,
            ServiceSupervisor,
            ServiceManager,
        ],
        Act::Clock | Act::QcSelf => &[Technician],
        Act::QcForeman => &[WorkshopForeman],
        Act::QcFinal => &[QcInspector],
        Act::Wash => &[
            WorkshopForeman,
            ServiceAdvisor,
            ServiceSupervisor,
            ServiceManager,
        ],
        Act::Pay => &[Cashier],
    }
}

/// Whether someone holding `held` may do `act`.
pub fn may(held: &[Role], act: Act) -> bool {
    held.iter().any(|r| roles(act).contains(r))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_keeps_each_post_to_its_work() {
        assert!(may(&[ServiceAdvisor], Act::Open));
        assert!(!may(&[Technician], Act::Open));
        assert!(!may(&[Customer], Act::Edit));
        assert!(may(&[Customer], Act::AcceptEstimate));
        assert!(may(&[Customer], Act::AnswerExtraWork));
        assert!(!may(&[ServiceAdvisor], Act::Clock));
        assert!(may(&[Technician], Act::Clock));
        assert!(!may(&[WorkshopForeman], Act::QcFinal));
        assert!(may(&[QcInspector], Act::QcFinal));
        assert!(!may(&[ServiceManager], Act::Pay));
        assert!(may(&[Cashier], Act::Pay));
        assert!(!may(&[Cashier], Act::Deliver));
        // every act has someone who may do it, and nobody may do everything
        for &act in Act::ALL {
            assert!(!roles(act).is_empty(), "{act}");
        }
        assert!(
            Role::ALL
                .iter()
                .all(|r| !Act::ALL.iter().all(|a| may(&[*r], *a)))
        );
    }
}
