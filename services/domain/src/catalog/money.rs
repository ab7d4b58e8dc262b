//! Prices: decimal strings such as `"35.00"` ↔ integer minor units. Never a float.

/// Why a price or currency was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MoneyError {
    #[error("price {0:?} is not a non-negative decimal number such as \"35.00\"")]
    NotADecimal(String),
    #[error("price {price:?} has more decimals than {currency} allows ({allowed})")]
    TooManyDecimals {
        price: String,
        currency: String,
        allowed: u32,
    },
    #[error("price {0:?} is too large")]
    TooLarge(String),
    #[error("currency {0:?} is not a three-letter ISO 4217 code")]
    BadCurrency(String),
}

/// Currencies without minor units (ISO 4217 exponent 0); every other currency is taken to have two.
const ZERO_DECIMAL: [&str; 16] = [
    "BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG", "RWF", "UGX", "VND", "VUV",
    "XAF", "XOF", "XPF",
];

/// Three uppercase ASCII letters.
pub fn validate_currency(currency: &str) -> Result<(), MoneyError> {
    if currency.len() == 3 && currency.bytes().all(|b| b.is_ascii_uppercase()) {
        Ok(())
    } else {
        Err(MoneyError::BadCurrency(currency.to_owned()))
    }
}

/// How many decimals the currency's minor unit has (0 or 2).
pub fn minor_unit_digits(currency: &str) -> u32 {
    if ZERO_DECIMAL.contains(&currency) {
        0
    } else {
        2
    }
}

/// Parses `"35"`, `"35.5"` or `"35.00"` into minor units of `currency`. Refuses signs, exponents,
/// more decimals than the currency has (`"35.001"` in EUR) and amounts past `i64`.
pub fn parse_price(price: &str, currency: &str) -> Result<i64, MoneyError> {
    validate_currency(currency)?;
    let not_decimal = || MoneyError::NotADecimal(price.to_owned());
    let (whole, fraction) = price.split_once('.').unwrap_or((price, ""));
    let digits_only = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if whole.is_empty() || !digits_only(whole) || !digits_only(fraction) {
        return Err(not_decimal());
    }
    if price.contains('.') && fraction.is_empty() {
        return Err(not_decimal());
    }
    let allowed = minor_unit_digits(currency);
    let fraction_len = u32::try_from(fraction.len()).map_err(|_| not_decimal())?;
    if fraction_len > allowed {
        return Err(MoneyError::TooManyDecimals {
            price: price.to_owned(),
            currency: currency.to_owned(),
            allowed,
        });
    }
    let too_large = || MoneyError::TooLarge(price.to_owned());
    let whole: i64 = whole.parse().map_err(|_| too_large())?;
    let padded = format!("{fraction:0<width$}", width = allowed as usize);
    let fraction: i64 = if padded.is_empty() {
        0
    } else {
        padded.parse().map_err(|_| not_decimal())?
    };
    whole
        .checked_mul(10_i64.pow(allowed))
        .and_then(|w| w.checked_add(fraction))
        .ok_or_else(too_large)
}

/// Formats minor units back into the decimal string clients send (`3500`, EUR → `"35.00"`).
pub fn format_minor(minor: i64, currency: &str) -> String {
    let digits = minor_unit_digits(currency);
    if digits == 0 {
        return minor.to_string();
    }
    let scale = 10_i64.pow(digits);
    let sign = if minor < 0 { "-" } else { "" };
    let abs = minor.unsigned_abs();
    let scale = scale.unsigned_abs();
    format!(
        "{sign}{}.{:0width$}",
        abs / scale,
        abs % scale,
        width = digits as usize
    )
}
