//! Calendar arithmetic on command time: local days and days of the month, integers only.
//!
//! A product bills in one time zone (a fixed UTC offset); its days are counted from the Unix
//! epoch in that zone. The civil-date conversion is Howard Hinnant's `civil_from_days`.

const MS_PER_DAY: i64 = 86_400_000;

/// The local day number (days since 1970-01-01 in the zone) of a time.
pub fn local_day(time_ms: u64, utc_offset_minutes: i16) -> i64 {
    let local_ms = time_ms as i64 + i64::from(utc_offset_minutes) * 60_000;
    local_ms.div_euclid(MS_PER_DAY)
}

/// The time a local day starts, in milliseconds since the Unix epoch.
pub fn day_start_ms(day: i64, utc_offset_minutes: i16) -> u64 {
    (day * MS_PER_DAY - i64::from(utc_offset_minutes) * 60_000).max(0) as u64
}

/// (year, month 1–12, day of month 1–31) of a local day number.
pub fn civil(day: i64) -> (i64, u8, u8) {
    let shifted = day + 719_468;
    let era = shifted.div_euclid(146_097);
    let day_of_era = shifted.rem_euclid(146_097);
    let year_of_era = (day_of_era - day_of_era / 1_460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153;
    let day_of_month = (day_of_year - (153 * month_index + 2) / 5 + 1) as u8;
    let month = if month_index < 10 { month_index + 3 } else { month_index - 9 } as u8;
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day_of_month)
}

/// The month key (`year × 12 + month − 1`) of a local day, for counting calendar months.
pub fn month_key(day: i64) -> i64 {
    let (year, month, _) = civil(day);
    year * 12 + i64::from(month) - 1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_dates_and_local_days() {
        assert_eq!(civil(0), (1970, 1, 1));
        assert_eq!(civil(19_723), (2024, 1, 1));
        assert_eq!(civil(19_782), (2024, 2, 29), "leap day");
        assert_eq!(civil(20_454), (2026, 1, 1));
        // 2026-01-31 16:00 UTC is 2026-02-01 00:00 in China (UTC+8).
        let time_ms = 1_769_875_200_000;
        assert_eq!(civil(local_day(time_ms, 0)), (2026, 1, 31));
        assert_eq!(civil(local_day(time_ms, 480)), (2026, 2, 1));
        assert_eq!(day_start_ms(local_day(time_ms, 480), 480), time_ms);
    }
}
