//! Phone numbers and countries of the UEMOA zone, parsed once into types that can only hold
//! valid values: E.164, with each country's calling code and national number length.
//!
//! Strict on purpose, like the OpenAPI document that states it (its patterns and enums are
//! generated from the table below, [`pattern`]): a phone is `+`, the calling code and the
//! national digits, nothing else; a country is its upper-case code. A sandbox that accepted
//! `+225 07 01…` or `sn` would let merchants ship what MOBILE-PAY may refuse.
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
    /// Every country of the zone.
    pub const ALL: [Country; 8] = [
        Country::Bj,
        Country::Bf,
        Country::Ci,
        Country::Gw,
        Country::Ml,
        Country::Ne,
        Country::Sn,
        Country::Tg,
    ];

    /// An ISO 3166-1 alpha-2 code of the zone, upper case (`SN`).
    pub fn parse(code: &str) -> Result<Country, Error> {
        COUNTRIES
            .iter()
            .find(|(_, iso, _, _)| *iso == code)
            .map(|(c, ..)| *c)
            .ok_or(Error::UnsupportedCountry)
    }

    pub fn iso(self) -> &'static str {
        self.row().1
    }

    fn row(self) -> (Country, &'static str, &'static str, usize) {
        COUNTRIES
            .iter()
            .copied()
            .find(|(c, ..)| *c == self)
            .unwrap_or(COUNTRIES[2])
    }
}

/// The regular expression (ECMA 262, as OpenAPI's `pattern`) of exactly the phones
/// [`Phone::parse`] accepts from `countries`.
pub fn pattern(countries: &[Country]) -> String {
    let numbers: Vec<String> = countries
        .iter()
        .map(|c| {
            let (_, _, code, len) = c.row();
            format!("{code}[0-9]{{{len}}}")
        })
        .collect();
    format!("^\\+(?:{})$", numbers.join("|"))
}

/// A valid phone number of the zone, in E.164 (`+2250701020304`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Phone {
    e164: String,
    country: Country,
}

impl Phone {
    /// E.164: `+`, the calling code and the national digits, nothing else.
    pub fn parse(input: &str) -> Result<Phone, Error> {
        let digits = input.strip_prefix('+').ok_or(Error::InvalidPhone)?;
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
            e164: input.to_owned(),
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
            assert!(matches!(
                Country::parse(&iso.to_lowercase()),
                Err(Error::UnsupportedCountry)
            ));
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
    fn separators_and_blanks_are_refused() {
        for input in [" +2250701020304", "+225 07 01 02 03 04", "+225-0701020304"] {
            assert!(
                matches!(Phone::parse(input), Err(Error::InvalidPhone)),
                "{input:?}"
            );
        }
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

/// `PROPTEST_CASES` sets the number of cases (256 by default; `cargo xtask proptest-long`).
#[cfg(test)]
mod properties {
    use proptest::prelude::*;

    use super::*;

    /// Text near the language: `+`, calling codes, digits and a few intruders.
    fn phonish() -> impl Strategy<Value = String> {
        prop_oneof![
            "\\PC{0,20}",
            "\\+?(22[0-9]|24[0-9])[0-9]{6,12}",
            "[ +]?22[1-9][0-9 .-]{7,12}",
            "\\+22[1-9][0-9]{7,11}[a ٣]?",
        ]
    }

    proptest! {
        #[test]
        fn a_phone_parses_exactly_when_the_document_s_pattern_matches_it(input in phonish()) {
            // Compiled once: `cargo xtask proptest-long` runs 100,000 cases.
            static ZONE: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
                regex::Regex::new(&pattern(&Country::ALL)).expect("a valid pattern")
            });

            let parsed = Phone::parse(&input);

            prop_assert_eq!(parsed.is_ok(), ZONE.is_match(&input), "{:?}", input);
            if let Ok(phone) = parsed {
                prop_assert_eq!(phone.as_str(), input.as_str());
                let per_country = regex::Regex::new(&pattern(&[phone.country()])).expect("valid");
                prop_assert!(per_country.is_match(&input));
            }
        }

        #[test]
        fn a_country_parses_exactly_when_it_is_one_of_the_zone_s_codes(input in "\\PC{0,3}|[A-Za-z]{2}") {
            let zone: Vec<&str> = Country::ALL.iter().map(|c| c.iso()).collect();

            let parsed = Country::parse(&input);

            prop_assert_eq!(parsed.is_ok(), zone.contains(&input.as_str()));
            if let Ok(country) = parsed {
                prop_assert_eq!(country.iso(), input.as_str());
            }
        }
    }
}
