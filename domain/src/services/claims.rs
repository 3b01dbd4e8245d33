//! Workers claim per account. The database may be distributed by account (Citus, sharded by
//! `tenant_id`), so a claim that locks rows (`FOR UPDATE SKIP LOCKED`) names one account and its
//! locks stay on one shard. Which accounts have work is found first by a read without locks.

use crate::id::TenantId;
use crate::DomainResult;

/// Accounts a worker's discovery read returns per pass, the longest waiting first.
pub const ACCOUNTS_PER_PASS: i64 = 1000;

/// Claims up to `limit` items across `accounts`, sharing the slots: each account first gets an
/// equal share (at least one), then what is left goes to those that filled theirs, in order. So
/// one account's backlog cannot hold back another's work for more than one pass.
pub fn share<T>(
    accounts: &[TenantId],
    limit: i64,
    mut claim: impl FnMut(&TenantId, i64) -> DomainResult<Vec<T>>,
) -> DomainResult<Vec<T>> {
    let mut claimed = Vec::new();
    if accounts.is_empty() || limit <= 0 {
        return Ok(claimed);
    }
    let each = (limit / i64::try_from(accounts.len()).unwrap_or(i64::MAX)).max(1);
    let mut full = Vec::new();
    for tenant in accounts {
        let left = limit - claimed.len() as i64;
        if left <= 0 {
            return Ok(claimed);
        }
        let got = claim(tenant, each.min(left))?;
        if got.len() as i64 == each.min(left) {
            full.push(tenant);
        }
        claimed.extend(got);
    }
    for tenant in full {
        let left = limit - claimed.len() as i64;
        if left <= 0 {
            break;
        }
        claimed.extend(claim(tenant, left)?);
    }
    Ok(claimed)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn accounts(n: usize) -> Vec<TenantId> {
        (0..n).map(|i| TenantId::from(format!("ten_{i}"))).collect()
    }

    /// `backlog[i]`: how many items account i has waiting.
    fn run(backlog: &[i64], limit: i64) -> Vec<i64> {
        let list = accounts(backlog.len());
        let mut left = backlog.to_vec();
        let got = share(&list, limit, |t, n| {
            let i = list.iter().position(|x| x == t).unwrap_or(0);
            let take = n.min(left[i]);
            left[i] -= take;
            Ok(vec![i; usize::try_from(take).unwrap_or(0)])
        })
        .unwrap_or_default();
        (0..backlog.len())
            .map(|i| got.iter().filter(|&&x| x == i).count() as i64)
            .collect()
    }

    #[test]
    fn a_large_backlog_does_not_starve_the_others() {
        assert_eq!(run(&[1000, 1, 2], 8), vec![5, 1, 2]);
        assert_eq!(run(&[1000, 1000], 8), vec![4, 4]);
    }

    #[test]
    fn more_accounts_than_slots_takes_one_each_in_order() {
        assert_eq!(run(&[5, 5, 5, 5], 2), vec![1, 1, 0, 0]);
    }

    #[test]
    fn nothing_to_claim() {
        assert_eq!(run(&[], 8), Vec::<i64>::new());
        assert_eq!(run(&[0, 0], 8), vec![0, 0]);
    }
}
