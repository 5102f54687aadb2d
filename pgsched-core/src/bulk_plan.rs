//! Bulk de-duplication: which entries of a bulk schedule reach the database.
//!
//! Bulk scheduling behaves as if the entries were scheduled one by one, in order: a later
//! entry with the same id as an earlier one meets it as an existing job. The database sees
//! each id once per statement (PostgreSQL refuses `ON CONFLICT DO UPDATE` touching a row
//! twice), and [`BulkPlan`] maps the statement's results back to every input index.

use std::collections::HashMap;

use crate::job::{ConflictResolution, JobId, JobStatus, Scheduled};

/// Which input entries reach the database, and how to spread the results back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BulkPlan {
    /// Input indexes sent to the store, each id once.
    pub sent: Vec<usize>,
    /// For every input index: the position in `sent` of the entry that decides its id.
    decided_by: Vec<usize>,
    /// For every input index: whether it is the entry that was sent.
    is_sent: Vec<bool>,
    /// For every input index: whether an earlier entry had the same id.
    has_earlier: Vec<bool>,
    conflict: ConflictResolution,
}

impl BulkPlan {
    /// Plans a bulk schedule of jobs with these ids.
    ///
    /// `Raise`/`Ignore`: the first entry of an id is sent. `Replace`: the last one is (it
    /// would have overwritten the earlier ones).
    #[must_use]
    pub fn new(ids: &[&JobId], conflict: ConflictResolution) -> BulkPlan {
        let mut chosen: HashMap<&JobId, usize> = HashMap::with_capacity(ids.len());
        let mut has_earlier = vec![false; ids.len()];
        for (index, id) in ids.iter().enumerate() {
            match chosen.get_mut(id) {
                None => {
                    chosen.insert(id, index);
                }
                Some(winner) => {
                    has_earlier[index] = true;
                    if conflict == ConflictResolution::Replace {
                        *winner = index;
                    }
                }
            }
        }
        let mut sent: Vec<usize> = chosen.values().copied().collect();
        sent.sort_unstable();
        let position: HashMap<usize, usize> = sent
            .iter()
            .enumerate()
            .map(|(pos, &index)| (index, pos))
            .collect();
        let mut decided_by = Vec::with_capacity(ids.len());
        let mut is_sent = Vec::with_capacity(ids.len());
        for (index, id) in ids.iter().enumerate() {
            let winner = chosen[id];
            decided_by.push(position[&winner]);
            is_sent.push(winner == index);
        }
        BulkPlan {
            sent,
            decided_by,
            is_sent,
            has_earlier,
            conflict,
        }
    }

    /// Spreads the store's results (aligned with [`BulkPlan::sent`]) over every input index,
    /// as if the entries had been scheduled one by one.
    #[must_use]
    pub fn assemble(&self, results: &[Scheduled]) -> Vec<Scheduled> {
        (0..self.decided_by.len())
            .map(|index| {
                let decided = &results[self.decided_by[index]];
                let id = decided.id().clone();
                match (self.conflict, decided) {
                    // Replace meets a running job: every entry of that id is refused.
                    (ConflictResolution::Replace, Scheduled::Running(_)) => Scheduled::Running(id),
                    // Replace: the first entry of an id inserted it (if it was new); every
                    // later one, including the sent winner, overwrote an earlier one.
                    (ConflictResolution::Replace, Scheduled::Inserted(_))
                        if !self.has_earlier[index] =>
                    {
                        Scheduled::Inserted(id)
                    }
                    (ConflictResolution::Replace, _) => Scheduled::Replaced(id),
                    // Raise and Ignore send the first entry: it gets the store's answer.
                    _ if self.is_sent[index] => decided.clone(),
                    (ConflictResolution::Ignore, _) => Scheduled::Kept(id),
                    (ConflictResolution::Raise, Scheduled::AlreadyExists { status, .. }) => {
                        Scheduled::AlreadyExists {
                            id,
                            status: *status,
                        }
                    }
                    (ConflictResolution::Raise, _) => Scheduled::AlreadyExists {
                        id,
                        status: JobStatus::Pending,
                    },
                }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(raw: &[&str]) -> Vec<JobId> {
        raw.iter().map(|s| JobId::new(*s).expect("valid")).collect()
    }

    fn plan(raw: &[&str], conflict: ConflictResolution) -> (Vec<JobId>, BulkPlan) {
        let ids = ids(raw);
        let refs: Vec<&JobId> = ids.iter().collect();
        let plan = BulkPlan::new(&refs, conflict);
        (ids, plan)
    }

    #[test]
    fn unique_ids_are_all_sent_in_order() {
        let (ids, plan) = plan(&["a", "b", "c"], ConflictResolution::Ignore);
        assert_eq!(plan.sent, [0, 1, 2]);
        let results: Vec<Scheduled> = ids.iter().cloned().map(Scheduled::Inserted).collect();
        assert_eq!(plan.assemble(&results), results);
    }

    #[test]
    fn ignore_sends_the_first_duplicate_and_keeps_it_for_the_rest() {
        let (ids, plan) = plan(&["a", "b", "a"], ConflictResolution::Ignore);
        assert_eq!(plan.sent, [0, 1]);
        let out = plan.assemble(&[
            Scheduled::Inserted(ids[0].clone()),
            Scheduled::Kept(ids[1].clone()),
        ]);
        assert_eq!(
            out,
            [
                Scheduled::Inserted(ids[0].clone()),
                Scheduled::Kept(ids[1].clone()),
                Scheduled::Kept(ids[2].clone())
            ]
        );
    }

    #[test]
    fn raise_reports_later_duplicates_as_conflicts() {
        let (ids, plan) = plan(&["a", "a"], ConflictResolution::Raise);
        assert_eq!(plan.sent, [0]);
        let out = plan.assemble(&[Scheduled::Inserted(ids[0].clone())]);
        assert_eq!(out[0], Scheduled::Inserted(ids[0].clone()));
        assert!(matches!(out[1], Scheduled::AlreadyExists { .. }));
    }

    #[test]
    fn replace_sends_the_last_duplicate() {
        let (ids, plan) = plan(&["a", "b", "a", "a"], ConflictResolution::Replace);
        assert_eq!(plan.sent, [1, 3]);
        let out = plan.assemble(&[
            Scheduled::Inserted(ids[1].clone()),
            Scheduled::Inserted(ids[3].clone()),
        ]);
        assert_eq!(
            out,
            [
                Scheduled::Inserted(ids[0].clone()),
                Scheduled::Inserted(ids[1].clone()),
                Scheduled::Replaced(ids[2].clone()),
                Scheduled::Replaced(ids[3].clone()),
            ]
        );
        let running = plan.assemble(&[
            Scheduled::Inserted(ids[1].clone()),
            Scheduled::Running(ids[3].clone()),
        ]);
        assert!(matches!(running[0], Scheduled::Running(_)));
        assert!(matches!(running[3], Scheduled::Running(_)));
    }
}
