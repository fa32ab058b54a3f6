//! Amounts in words, for the payout's confirmation step: reading "vingt-cinq mille francs CFA"
//! catches a mistyped zero that "25 000" hides. The numbers themselves come from `num2words`,
//! whose French follows the traditional rules (quatre-vingts, deux cents, vingt et un; cent and
//! vingt invariable before mille); this file adds the currency with its grammar.

use num2words::{Lang as Words, Num2Words};

use super::i18n::Lang;

/// `amount` FCFA in words: `vingt-cinq mille francs CFA`, `twenty-five thousand CFA francs`.
pub fn fcfa_in_words(amount: u64, lang: Lang) -> String {
    let words = Num2Words::new(amount)
        .lang(match lang {
            Lang::Fr => Words::French,
            Lang::En => Words::English,
        })
        .to_words()
        // num2words only fails on numbers far beyond a payout's range; digits still say it.
        .unwrap_or_else(|_| amount.to_string());
    match lang {
        Lang::Fr => {
            let unit = if amount > 1 {
                "francs CFA"
            } else {
                "franc CFA"
            };
            // "un million de francs", but "un million deux cents francs".
            let of = ["million", "millions", "milliard", "milliards"]
                .iter()
                .any(|big| words.ends_with(big));
            format!("{words} {}{unit}", if of { "de " } else { "" })
        }
        Lang::En => {
            let unit = if amount == 1 {
                "CFA franc"
            } else {
                "CFA francs"
            };
            format!("{words} {unit}")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{Lang, fcfa_in_words};

    #[test]
    fn payout_amounts_read_as_a_french_or_english_speaker_writes_them() {
        let cases = [
            (1, "un franc CFA", "one CFA franc"),
            (100, "cent francs CFA", "one hundred CFA francs"),
            (
                25_000,
                "vingt-cinq mille francs CFA",
                "twenty-five thousand CFA francs",
            ),
            (
                80_000,
                "quatre-vingt mille francs CFA",
                "eighty thousand CFA francs",
            ),
            (200, "deux cents francs CFA", "two hundred CFA francs"),
            (201, "deux cent un francs CFA", "two hundred one CFA francs"),
            (71, "soixante et onze francs CFA", "seventy-one CFA francs"),
            (
                1_000_000,
                "un million de francs CFA",
                "one million CFA francs",
            ),
            (
                2_000_000,
                "deux millions de francs CFA",
                "two million CFA francs",
            ),
            (
                1_000_200,
                "un million deux cents francs CFA",
                "one million two hundred CFA francs",
            ),
        ];
        for (amount, fr, en) in cases {
            assert_eq!(fcfa_in_words(amount, Lang::Fr), fr, "{amount} in French");
            assert_eq!(fcfa_in_words(amount, Lang::En), en, "{amount} in English");
        }
    }

    #[test]
    fn every_payout_amount_is_spelled_without_a_digit_and_ends_with_the_currency() {
        // Every 997th amount of the local transfer range (100 – 2,000,000 FCFA), and its ends.
        let amounts = (100..=2_000_000u64).step_by(997).chain([2_000_000]);
        for amount in amounts {
            let fr = fcfa_in_words(amount, Lang::Fr);
            let en = fcfa_in_words(amount, Lang::En);
            for words in [&fr, &en] {
                assert!(
                    !words.chars().any(|c| c.is_ascii_digit()),
                    "{amount}: {words}"
                );
            }
            assert!(fr.ends_with(" francs CFA"), "{amount}: {fr}");
            assert!(en.ends_with(" CFA francs"), "{amount}: {en}");
            // Distinct amounts never read the same.
            assert_ne!(fr, fcfa_in_words(amount + 1, Lang::Fr), "{amount}");
        }
    }
}
