//! Least data by role (脱敏): who sees a customer's contact details in full,
//! who sees them masked, and what a masked role may reveal with a reason.
//! One table, [`RULES`]; everything that answers a customer's personal data
//! asks it through [`Sight`].

use crate::domain::Role;

string_enum! {
    /// A customer's personal data that a masked role sees masked.
    pub enum PersonalField {
        Name = "name",
        Phone = "phone",
        Email = "email",
        Birthday = "birthday",
        /// Staff's free-text notes on the customer.
        Notes = "notes",
    }
}

string_enum! {
    /// What a member of staff did with a customer's personal data.
    pub enum AccessAction {
        /// Read the customer's record.
        Read = "read",
        /// Found the customer in a search or list.
        Search = "search",
        /// Revealed masked fields, with a reason.
        Reveal = "reveal",
        /// Exported the record to a file.
        Export = "export",
        /// Erased the customer on their request (approved it).
        Erase = "erase",
    }
}

/// How a role sees a customer's personal data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sight {
    /// As stored.
    Full,
    /// Masked: `王*明`, `138****0001`, `w***@…`; birthday and notes left out.
    Masked,
}

use PersonalField::{Email, Name, Phone};
use Role::*;
use Sight::{Full, Masked};

/// Every role: how it sees a customer's personal data and which fields it
/// may reveal (`POST /customers/{id}/reveal`, audited). The roles that work
/// with people (advisors, customer care, managers) see them in full; those
/// that work on cars, parts, tools, money or claims see them masked and
/// reveal only what their work may need: the cashier the name and phone for
/// an invoice or a payment call, the warranty clerk the owner a brand asks
/// about.
pub const RULES: &[(Role, Sight, &[PersonalField])] = &[
    (ServiceManager, Full, PersonalField::ALL),
    (ServiceSupervisor, Full, PersonalField::ALL),
    (ServiceAdvisor, Full, PersonalField::ALL),
    (WorkshopForeman, Full, PersonalField::ALL),
    (CustomerCare, Full, PersonalField::ALL),
    (DealerAdmin, Full, PersonalField::ALL),
    (NetworkAdmin, Full, PersonalField::ALL),
    // a customer sees their own record
    (Customer, Full, PersonalField::ALL),
    (Technician, Masked, &[]),
    (QcInspector, Masked, &[]),
    (Parts, Masked, &[]),
    (ToolKeeper, Masked, &[]),
    (Cashier, Masked, &[Name, Phone]),
    (WarrantyClerk, Masked, &[Name, Phone, Email]),
];

fn rule(role: Role) -> (Sight, &'static [PersonalField]) {
    RULES
        .iter()
        .find(|(r, _, _)| *r == role)
        .map(|(_, s, f)| (*s, *f))
        // a role missing from the table sees nothing in full (a test keeps it complete)
        .unwrap_or((Masked, &[]))
}

/// How someone holding `roles` sees personal data: in full if any of their
/// roles does.
pub fn sight(roles: &[Role]) -> Sight {
    if roles.iter().any(|r| rule(*r).0 == Full) {
        Full
    } else {
        Masked
    }
}

/// Whether someone holding `roles` may reveal `field`.
pub fn may_reveal(roles: &[Role], field: PersonalField) -> bool {
    roles.iter().any(|r| rule(*r).1.contains(&field))
}

impl Sight {
    pub fn name(self, name: &str) -> String {
        match self {
            Full => name.to_string(),
            Masked => mask_name(name),
        }
    }

    pub fn phone(self, phone: &str) -> String {
        match self {
            Full => phone.to_string(),
            Masked => mask_phone(phone),
        }
    }

    pub fn email(self, email: Option<&str>) -> Option<String> {
        email.map(|e| match self {
            Full => e.to_string(),
            Masked => mask_email(e),
        })
    }

    /// Birthday, notes: shown in full or not at all.
    pub fn whole<T>(self, value: Option<T>) -> Option<T> {
        match self {
            Full => value,
            Masked => None,
        }
    }
}

/// What a customer search string is read as (`GET /customers?q=`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SearchBy {
    /// A name prefix.
    Name,
    /// A phone number.
    Phone,
    /// A plate.
    Plate,
    /// A VIN or its last 6+ characters.
    Vin,
}

/// Which search terms each sight may use. A masked role finds a customer
/// by their car (the plate or VIN on the car in front of them), never by a
/// name or phone number it cannot see: otherwise it could confirm who owns
/// a number by searching for it.
pub const SEARCHES: &[(Sight, &[SearchBy])] = &[
    (
        Full,
        &[
            SearchBy::Name,
            SearchBy::Phone,
            SearchBy::Plate,
            SearchBy::Vin,
        ],
    ),
    (Masked, &[SearchBy::Plate, SearchBy::Vin]),
];

impl Sight {
    /// Whether this sight may search customers by `by`.
    pub fn may_search(self, by: SearchBy) -> bool {
        SEARCHES
            .iter()
            .any(|(s, terms)| *s == self && terms.contains(&by))
    }
}

/// `王小明` → `王*明`, `王明` → `王*`, `欧阳小明` → `欧**明`; a Latin name
/// keeps each word's first letter: `John Smith` → `J*** S****`.
pub fn mask_name(name: &str) -> String {
    let name = name.trim();
    if name.contains(' ') {
        return name
            .split(' ')
            .filter(|w| !w.is_empty())
            .map(|w| {
                let mut cs = w.chars();
                let first = cs.next().map(String::from).unwrap_or_default();
                first + &"*".repeat(cs.count())
            })
            .collect::<Vec<_>>()
            .join(" ");
    }
    let cs: Vec<char> = name.chars().collect();
    match cs.len() {
        0 => String::new(),
        1 => "*".into(),
        2 => format!("{}*", cs[0]),
        n => format!("{}{}{}", cs[0], "*".repeat(n - 2), cs[n - 1]),
    }
}

/// `+8613800000001` or `13800000001` → `138****0001`: the first three and
/// last four digits of the national number; shorter numbers keep only the
/// last two digits.
pub fn mask_phone(phone: &str) -> String {
    let digits: Vec<char> = phone.chars().filter(char::is_ascii_digit).collect();
    let national: &[char] = if phone.starts_with("+86") && digits.len() > 2 {
        &digits[2..]
    } else {
        &digits
    };
    let n = national.len();
    if n >= 8 {
        format!(
            "{}{}{}",
            national[..3].iter().collect::<String>(),
            "*".repeat(n - 7),
            national[n - 4..].iter().collect::<String>()
        )
    } else {
        let keep = n.min(2);
        format!(
            "{}{}",
            "*".repeat(n - keep),
            national[n - keep..].iter().collect::<String>()
        )
    }
}

/// `wang@example.cn` → `w***@…`: the first character, nothing of the domain.
pub fn mask_email(email: &str) -> String {
    let first = email.chars().next().map(String::from).unwrap_or_default();
    format!("{first}***@…")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_role_has_exactly_one_rule() {
        for r in Role::ALL {
            assert_eq!(RULES.iter().filter(|(x, _, _)| *x == r).count(), 1, "{r}");
        }
    }

    #[test]
    fn the_masked_roles_are_those_that_do_not_deal_with_people() {
        let masked: Vec<Role> = Role::ALL
            .into_iter()
            .filter(|r| sight(&[*r]) == Masked)
            .collect();
        assert_eq!(
            masked,
            [
                Technician,
                QcInspector,
                WarrantyClerk,
                Parts,
                Cashier,
                ToolKeeper
            ]
        );
        // one role that deals with people is enough
        assert_eq!(sight(&[Technician, ServiceAdvisor]), Full);
        assert_eq!(sight(&[]), Masked);
    }

    #[test]
    fn reveal_follows_the_table() {
        assert!(may_reveal(&[Cashier], Phone));
        assert!(!may_reveal(&[Cashier], Email));
        assert!(!may_reveal(&[Technician], Name));
        assert!(may_reveal(&[Technician, WarrantyClerk], Name));
        assert!(may_reveal(&[ServiceAdvisor], PersonalField::Notes));
    }

    #[test]
    fn a_masked_sight_searches_by_the_car_only() {
        for by in [
            SearchBy::Name,
            SearchBy::Phone,
            SearchBy::Plate,
            SearchBy::Vin,
        ] {
            assert!(Full.may_search(by), "{by:?}");
        }
        assert!(Masked.may_search(SearchBy::Plate));
        assert!(Masked.may_search(SearchBy::Vin));
        assert!(!Masked.may_search(SearchBy::Name));
        assert!(!Masked.may_search(SearchBy::Phone));
    }

    #[test]
    fn masks() {
        assert_eq!(mask_phone("+8613800000001"), "138****0001");
        assert_eq!(mask_phone("13800000001"), "138****0001");
        assert_eq!(mask_phone("+85291234567"), "852****4567");
        assert_eq!(mask_phone("12345"), "***45");
        assert_eq!(mask_phone(""), "");
        assert_eq!(mask_name("王小明"), "王*明");
        assert_eq!(mask_name("王明"), "王*");
        assert_eq!(mask_name("欧阳小明"), "欧**明");
        assert_eq!(mask_name("王"), "*");
        assert_eq!(mask_name("John Smith"), "J*** S****");
        assert_eq!(mask_email("wang@example.cn"), "w***@…");
        assert_eq!(Masked.whole(Some(3)), None);
        assert_eq!(Full.whole(Some(3)), Some(3));
    }
}
