use sea_orm::entity::prelude::*;

use crate::domain::customer::{Calendar, Channel, Locale};

/// 客户档案: one customer of one dealer. `version` backs the ETag.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "customers")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub dealer_id: Uuid,
    pub name: String,
    /// E.164
    pub phone: String,
    pub email: Option<String>,
    pub preferred_channel: Channel,
    pub locale: Locale,
    pub birthday_calendar: Option<Calendar>,
    pub birthday_month: Option<i32>,
    pub birthday_day: Option<i32>,
    pub birthday_leap: Option<bool>,
    pub birthday_year: Option<i32>,
    /// `[{channel, purpose, granted, source, at}]`
    pub consents: Json,
    /// `["vip", …]`
    pub tags: Json,
    pub notes: Option<String>,
    /// Three unanswered follow-up calls: followed up by message only, not called.
    pub calls_unreachable_at: Option<DateTimeUtc>,
    /// Erased (anonymised) on request: the record stays under a pseudonym.
    pub erased_at: Option<DateTimeUtc>,
    pub version: i32,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
