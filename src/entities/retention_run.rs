use sea_orm::entity::prelude::*;

/// One dealer's retention run for one local day: inserted by the instance
/// that claims it, held under a lease (a crashed run's lease runs out and
/// another instance finishes it), finished once.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "retention_runs")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub dealer_id: Uuid,
    pub day: Date,
    pub lease_owner: Option<Uuid>,
    pub lease_until: Option<DateTimeUtc>,
    pub attempts: i32,
    /// `{"otp_codes": 3, …}`: rows removed (or cleared) per kind so far.
    pub removed: Json,
    pub started_at: DateTimeUtc,
    pub finished_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
