//! Where a pass's plans go: into the outbox (rendered, inserted in bulk,
//! once per occurrence and channel whoever else plans it), or into a list
//! for a preview, which writes nothing.

use std::collections::{HashMap, HashSet};

use sea_orm::sea_query::OnConflict;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QuerySelect};

use super::kinds::texts;
use super::pass::{Day, Planned};
use crate::care::outbox::NewMessage;
use crate::care::render::Templates;
use crate::domain::care_plan::CareKind;
use crate::domain::message::MessageKind;
use crate::entities::outbox_message;

/// Rows of one bulk insert: well under SQLite's limit of bound values, and
/// (at about 1 KiB a row) one 16 KiB TLS record, which sqlx 0.9.0 sends
/// without TCP_NODELAY, so a statement spread over two records waits for a
/// delayed acknowledgement (~40 ms) before its tail leaves.
const ROWS_PER_INSERT: usize = 12;

pub enum Sink<'a> {
    /// Writes the plans to the outbox; counts the rows new per kind.
    Outbox {
        templates: &'a Templates,
        written: HashMap<CareKind, u64>,
    },
    /// Keeps the plans not in the outbox yet (a preview).
    Collect(Vec<Planned>),
}

impl<'a> Sink<'a> {
    pub fn outbox(templates: &'a Templates) -> Self {
        Sink::Outbox {
            templates,
            written: HashMap::new(),
        }
    }

    pub async fn put(
        &mut self,
        db: &impl ConnectionTrait,
        day: &Day<'_>,
        mut plans: Vec<Planned>,
    ) -> anyhow::Result<()> {
        if plans.is_empty() {
            return Ok(());
        }
        match self {
            Sink::Collect(all) => {
                let keys: Vec<String> = plans.iter().map(|p| p.occurrence_key.clone()).collect();
                let there: HashSet<(MessageKind, String)> = outbox_message::Entity::find()
                    .select_only()
                    .column(outbox_message::Column::Kind)
                    .column(outbox_message::Column::OccurrenceKey)
                    .filter(outbox_message::Column::DealerId.eq(day.dealer.id))
                    .filter(outbox_message::Column::OccurrenceKey.is_in(keys))
                    .into_tuple()
                    .all(db)
                    .await?
                    .into_iter()
                    .collect();
                all.extend(plans.into_iter().filter(|p| {
                    !there.contains(&(p.kind.message_kind(), p.occurrence_key.clone()))
                }));
            }
            Sink::Outbox { templates, written } => {
                plans.sort_by_key(|p| p.kind.as_str());
                let mut rows: Vec<(CareKind, outbox_message::ActiveModel)> = Vec::new();
                for p in plans {
                    let k = day.kinds.get(p.kind);
                    let (title, body) = match texts(templates, p.kind, k, p.locale, &p.params) {
                        Ok(t) => t,
                        Err(e) => {
                            tracing::warn!(kind = %p.kind, key = %p.occurrence_key, "not planned: the text does not render: {e}");
                            continue;
                        }
                    };
                    for (channel, recipient) in &p.to {
                        let m = NewMessage {
                            dealer_id: day.dealer.id,
                            customer_id: Some(p.customer_id),
                            about_customer_id: None,
                            kind: p.kind.message_kind(),
                            occurrence_key: p.occurrence_key.clone(),
                            channel: *channel,
                            recipient: recipient.clone(),
                            locale: p.locale,
                            params: p.params.clone(),
                            subject: Some(title.clone()),
                            body: body.clone(),
                            due_at: p.send_at,
                            parent_id: None,
                        };
                        rows.push((p.kind, m.row(day.now)));
                    }
                }
                // one kind per insert, so the rows new per kind are counted
                let mut rest = rows.as_slice();
                while let Some((kind, _)) = rest.first() {
                    let n = rest.iter().take_while(|(k, _)| k == kind).count();
                    let (same, tail) = rest.split_at(n);
                    rest = tail;
                    for chunk in same.chunks(ROWS_PER_INSERT) {
                        let new = outbox_message::Entity::insert_many(
                            chunk.iter().map(|(_, r)| r.clone()),
                        )
                        .on_conflict(
                            OnConflict::columns([
                                outbox_message::Column::DealerId,
                                outbox_message::Column::Kind,
                                outbox_message::Column::OccurrenceKey,
                                outbox_message::Column::Channel,
                            ])
                            .do_nothing()
                            .to_owned(),
                        )
                        .exec_without_returning(db)
                        .await?;
                        *written.entry(*kind).or_default() += new;
                    }
                }
            }
        }
        Ok(())
    }
}
