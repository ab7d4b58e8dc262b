//! Business slugs: lowercase ASCII words joined by `-`, made from the name once and never changed.

/// `"Café Olé — Downtown"` → `"cafe-ole-downtown"`; empty or symbol-only names give `"business"`.
pub fn slugify(name: &str) -> String {
    let mut slug = String::with_capacity(name.len());
    for c in name.chars().flat_map(fold_accent) {
        if c.is_ascii_alphanumeric() {
            slug.push(c.to_ascii_lowercase());
        } else if !slug.is_empty() && !slug.ends_with('-') {
            slug.push('-');
        }
        if slug.len() >= 60 {
            break;
        }
    }
    let slug = slug.trim_end_matches('-');
    if slug.is_empty() {
        "business".to_owned()
    } else {
        slug.to_owned()
    }
}

/// The `attempt`-th candidate for a base slug: `base`, `base-2`, `base-3`, …
pub fn slug_candidate(base: &str, attempt: u32) -> String {
    if attempt <= 1 {
        base.to_owned()
    } else {
        format!("{base}-{attempt}")
    }
}

/// Latin letters with diacritics → their base letter, so names in Spanish, French or German slug well.
fn fold_accent(c: char) -> Vec<char> {
    let base = match c {
        'á' | 'à' | 'â' | 'ä' | 'ã' | 'å' | 'Á' | 'À' | 'Â' | 'Ä' | 'Ã' | 'Å' => 'a',
        'é' | 'è' | 'ê' | 'ë' | 'É' | 'È' | 'Ê' | 'Ë' => 'e',
        'í' | 'ì' | 'î' | 'ï' | 'Í' | 'Ì' | 'Î' | 'Ï' => 'i',
        'ó' | 'ò' | 'ô' | 'ö' | 'õ' | 'Ó' | 'Ò' | 'Ô' | 'Ö' | 'Õ' => 'o',
        'ú' | 'ù' | 'û' | 'ü' | 'Ú' | 'Ù' | 'Û' | 'Ü' => 'u',
        'ñ' | 'Ñ' => 'n',
        'ç' | 'Ç' => 'c',
        'ß' => return vec!['s', 's'],
        '&' => return vec![' ', 'a', 'n', 'd', ' '],
        other => other,
    };
    vec![base]
}
