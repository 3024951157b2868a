//! Cursor pagination: lists are ordered by id, and the cursor is the last id of the page, in an
//! opaque form, so inserts never shift what a client has already seen.

use serde::Deserialize;

use crate::error::AppError;

pub const DEFAULT_LIMIT: i64 = 50;
pub const MAX_LIMIT: i64 = 1000;

#[derive(Clone, Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// Page size, 1 to 1000 (default 50).
    pub limit: Option<i64>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// A validated page request: fetch `limit + 1` rows with id > `after` to know if more follow.
#[derive(Clone, Copy, Debug)]
pub struct PageRequest {
    pub limit: i64,
    pub after: i64,
}

impl PageQuery {
    pub fn parse(&self) -> Result<PageRequest, AppError> {
        let limit = self.limit.unwrap_or(DEFAULT_LIMIT);
        if !(1..=MAX_LIMIT).contains(&limit) {
            return Err(AppError::field("limit", format!("must be between 1 and {MAX_LIMIT}")));
        }
        let after = match &self.cursor {
            None => 0,
            Some(c) => {
                decode_cursor(c).ok_or_else(|| AppError::field("cursor", "is not a cursor this service gave out"))?
            }
        };
        Ok(PageRequest { limit, after })
    }
}

fn decode_cursor(cursor: &str) -> Option<i64> {
    cursor.strip_prefix("c").and_then(|rest| i64::from_str_radix(rest, 36).ok()).filter(|id| *id >= 0)
}

fn encode_cursor(id: i64) -> String {
    let mut n = id as u64;
    let mut digits = Vec::new();
    loop {
        digits.push(std::char::from_digit((n % 36) as u32, 36).unwrap_or('0'));
        n /= 36;
        if n == 0 {
            break;
        }
    }
    digits.reverse();
    format!("c{}", digits.into_iter().collect::<String>())
}

/// Cuts the extra row off and derives the next cursor from the last kept id.
pub fn paginate<R, T>(
    mut rows: Vec<R>,
    page: PageRequest,
    id: impl Fn(&R) -> i64,
    map: impl FnMut(R) -> T,
) -> crate::http::wire::Page<T>
where
    T: utoipa::ToSchema,
{
    let more = rows.len() as i64 > page.limit;
    rows.truncate(page.limit as usize);
    let next_cursor = if more { rows.last().map(|r| encode_cursor(id(r))) } else { None };
    crate::http::wire::Page { data: rows.into_iter().map(map).collect(), next_cursor }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursor_round_trips_and_rejects_garbage() {
        for id in [0, 1, 35, 36, 123_456_789, i64::MAX] {
            assert_eq!(decode_cursor(&encode_cursor(id)), Some(id));
        }
        assert_eq!(decode_cursor("12"), None);
        assert_eq!(decode_cursor("c-1"), None);
        assert_eq!(decode_cursor("c!"), None);
    }
}
