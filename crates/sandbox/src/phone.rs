//! Phone numbers and countries of the UEMOA zone, parsed once into types that can only hold
//! valid values: E.164, with each country's calling code and national number length.
//!
//! | country | code | calling code | national digits |
//! |---|---|---|---|
//! | Bénin | BJ | +229 | 10 |
//! | Burkina Faso | BF | +226 | 8 |
//! | Côte d'Ivoire | CI | +225 | 10 |
//! | Guinée-Bissau | GW | +245 | 9 |
//! | Mali | ML | +223 | 8 |
//! | Niger | NE | +227 | 8 |
//! | Sénégal | SN | +221 | 9 |
//! | Togo | TG | +228 | 8 |

use crate::error::Error;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Country {
    Bj,
    Bf,
    Ci,
    Gw,
    Ml,
    Ne,
    Sn,
    Tg,
}

const COUNTRIES: [(Country, &str, &str, usize); 8] = [
    (Country::Bj, "BJ", "229", 10),
    (Country::Bf, "BF", "226", 8),
    (Country::Ci, "CI", "225", 10),
    (Country::Gw, "GW", "245", 9),
    (Country::Ml, "ML", "223", 8),
    (Country::Ne, "NE", "227", 8),
    (Country::Sn, "SN", "221", 9),
    (Country::Tg, "TG", "228", 8),
];

impl Country {
    /// An ISO 3166-1 alpha-2 code of the zone (`SN`), in any case.
    pub fn parse(code: &str) -> Result<Country, Error> {
        let code = code.trim().to_ascii_uppercase();
        COUNTRIES
            .iter()
            .find(|(_, iso, _, _)| *iso == code)
            .map(|(c, ..)| *c)
            .ok_or(Error::UnsupportedCountry)
    }

    pub fn iso(self) -> &'static str {
        COUNTRIES
            .iter()
            .find(|(c, ..)| *c == self)
            .map_or("", |(_, iso, _, _)| iso)
    }
}

/// A valid phone number of the zone, in E.164 (`+2250701020304`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Phone {
    e164: String,
    country: Country,
}

impl Phone {
    /// Accepts `+` and digits, with spaces, dots or dashes between groups.
    pub fn parse(input: &str) -> Result<Phone, Error> {
        let compact: String = input
            .trim()
            .chars()
            .filter(|c| !matches!(c, ' ' | '.' | '-'))
            .collect();
        let digits = compact.strip_prefix('+').ok_or(Error::InvalidPhone)?;
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(Error::InvalidPhone);
        }
        let (country, national) = COUNTRIES
            .iter()
            .find_map(|(country, _, code, len)| {
                let national = digits.strip_prefix(code)?;
                Some((*country, national.len() == *len))
            })
            .ok_or(Error::UnsupportedCountry)?;
        if !national {
            return Err(Error::InvalidPhone);
        }
        Ok(Phone {
            e164: compact,
            country,
        })
    }

    pub fn as_str(&self) -> &str {
        &self.e164
    }

    pub fn country(&self) -> Country {
        self.country
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_country_of_the_zone_takes_exactly_its_national_length() {
        for (country, iso, code, len) in COUNTRIES {
            let valid = format!("+{code}{}", "7".repeat(len));
            let phone = Phone::parse(&valid).expect("valid");
            assert_eq!(phone.country(), country);
            assert_eq!(phone.as_str(), valid);
            assert_eq!(Country::parse(iso).expect("known"), country);
            assert_eq!(
                Country::parse(&iso.to_lowercase()).expect("any case"),
                country
            );
            for wrong in [len - 1, len + 1] {
                let invalid = format!("+{code}{}", "7".repeat(wrong));
                assert!(
                    matches!(Phone::parse(&invalid), Err(Error::InvalidPhone)),
                    "{invalid}"
                );
            }
        }
    }

    #[test]
    fn separators_are_accepted_and_dropped() {
        let phone = Phone::parse(" +225 07-01.02 03 04 ").expect("valid");
        assert_eq!(phone.as_str(), "+2250701020304");
    }

    #[test]
    fn the_seeds_placeholders_and_other_garbage_are_refused() {
        for input in [
            "+225XXXXXXXXX",
            "+221XXXXXXXXX",
            "",
            "+",
            "2250701020304",
            "+225 07 01 02 03 0a",
        ] {
            assert!(
                matches!(Phone::parse(input), Err(Error::InvalidPhone)),
                "{input:?}"
            );
        }
        assert!(matches!(
            Phone::parse("+33612345678"),
            Err(Error::UnsupportedCountry)
        ));
        assert!(matches!(
            Country::parse("FR"),
            Err(Error::UnsupportedCountry)
        ));
    }
}
