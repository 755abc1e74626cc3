use sea_orm::entity::prelude::*;

use crate::domain::import::JobState;

/// An import of a customer file run in the background. Progress and counts are
/// written in the same transaction as the rows they count, so after a crash
/// they say exactly how far the import got.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "import_jobs")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub dealer_id: Uuid,
    pub created_by: Uuid,
    pub state: JobState,
    pub dry_run: bool,
    pub file_name: Option<String>,
    /// The encoding the file was read in, or `xlsx` / `xls`.
    pub encoding: String,
    pub sheet: Option<String>,
    pub rows_total: i32,
    pub rows_done: i32,
    pub customers_created: i32,
    pub customers_existing: i32,
    pub vehicles_created: i32,
    pub vehicles_existing: i32,
    pub rejected: i32,
    pub error: Option<String>,
    /// How many times a worker has taken the job (more than 1: it was resumed).
    pub attempts: i32,
    /// Renewed while a worker runs the job; a stale one means the worker died.
    pub heartbeat_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
    pub started_at: Option<DateTimeUtc>,
    pub finished_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
