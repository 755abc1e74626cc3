//! Pure business rules: value types that can only hold valid data, and the
//! rules that decide things. Nothing here knows about HTTP or the database.

/// A closed set of names, stored and sent as its snake_case string.
/// Generates serde, the OpenAPI schema (a string enum of exactly the wire
/// values serde reads and writes), `as_str`, `Display`, `FromStr` and `ALL`.
macro_rules! string_enum {
    ($(#[doc = $doc:literal])* $vis:vis enum $name:ident { $($(#[doc = $vdoc:literal])* $variant:ident = $text:literal),+ $(,)? }) => {
        $(#[doc = $doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
        $vis enum $name { $($(#[doc = $vdoc])* #[serde(rename = $text)] $variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }

            /// The value of a wire name.
            pub fn parse(s: &str) -> Option<Self> {
                Self::ALL.iter().copied().find(|v| v.as_str() == s)
            }
        }

        // Written out rather than derived: the derive does not see `rename`
        // through a macro and documented the Rust variant names.
        impl utoipa::PartialSchema for $name {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                let doc = concat!($($doc, "\n"),*).trim();
                utoipa::openapi::ObjectBuilder::new()
                    .schema_type(utoipa::openapi::schema::Type::String)
                    .enum_values(Some([$($text),+]))
                    .description((!doc.is_empty()).then(|| doc.to_string()))
                    .into()
            }
        }

        impl utoipa::ToSchema for $name {
            fn name() -> std::borrow::Cow<'static, str> {
                std::borrow::Cow::Borrowed(stringify!($name))
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl std::str::FromStr for $name {
            type Err = $crate::domain::UnknownValue;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $($text => Ok($name::$variant),)+
                    _ => Err($crate::domain::UnknownValue {
                        value: s.to_string(),
                        expected: &[$($text),+],
                    }),
                }
            }
        }
    };
}

/// A string that is not one of an enum's names.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown value '{value}', expected one of: {}", expected.join(", "))]
pub struct UnknownValue {
    pub value: String,
    pub expected: &'static [&'static str],
}

pub mod appointment;
pub mod calendar;
pub mod callback;
pub mod care;
pub mod care_card;
pub mod care_plan;
pub mod case;
pub mod comeback;
pub mod csi;
pub mod csi_report;
pub mod customer;
pub mod customer_value;
pub mod data_export;
pub mod dates;
pub mod deputy;
pub mod enquiry;
pub mod import;
pub mod insurance;
pub mod kpi;
pub mod maintenance;
pub mod message;
pub mod money;
pub mod opening;
pub mod outbox;
pub mod parts;
pub mod performance;
pub mod phone;
pub mod photo;
pub mod plate;
pub mod privacy;
pub mod repair_order;
pub mod rescue;
pub mod retention;
pub mod role;
pub mod schedule;
pub mod tools;
pub mod validation;
pub mod vehicle;
pub mod vin;
pub mod warranty;

pub use money::Money;
pub use phone::Phone;
pub use plate::Plate;
pub use role::Role;
pub use validation::{FieldError, FieldErrors};
pub use vin::Vin;
pub mod erasure;
