//! Unit tests of main.rs, kept beside it so the lesson stays short.

use super::*;

fn ints(items: impl IntoIterator<Item = u64>) -> Receiver<u64> {
    let (tx, rx) = channel::unbounded();
    for item in items {
        tx.send(item).expect("the receiver is alive");
    }
    rx // `tx` is dropped: the channel ends after these items
}

#[test]
fn take_stops_the_endless_generator() {
    let mut stages = Stages::default();
    let mut next = 0u64;
    let numbers = repeat_fn(
        move || {
            next += 1;
            next
        },
        0,
        &mut stages,
    )
    .expect("spawn");
    let taken = take(numbers, 5, Stop::new(), 0, &mut stages).expect("spawn");
    let got: Vec<u64> = taken.iter().collect();
    assert_eq!(got, vec![1, 2, 3, 4, 5]);
    // The generator never ends by itself: joining it proves the dropped receiver stopped it.
    assert_eq!(stages.join_all(), (2, 0));
}

#[test]
fn fan_in_merges_every_input_and_closes() {
    let mut stages = Stages::default();
    let inputs = vec![ints(0..10), ints(10..25), ints(25..30)];
    let merged = fan_in(inputs, 0, &mut stages).expect("spawn");
    let mut got: Vec<u64> = merged.iter().collect();
    got.sort_unstable();
    assert_eq!(got, (0..30).collect::<Vec<_>>());
    assert_eq!(stages.join_all(), (3, 0));
}

#[test]
fn prime_finder_passes_only_primes_and_counts_every_check() {
    for check in [Check::Naive, Check::Sqrt] {
        let mut stages = Stages::default();
        let stats = Arc::new(Stats::default());
        let finding = Finding {
            check,
            stats: Arc::clone(&stats),
            stop: Stop::new(),
        };
        let primes = prime_finder(7, ints(0..=200), finding, 0, &mut stages).expect("spawn");
        let got: Vec<u64> = primes
            .iter()
            .map(|f| {
                assert_eq!(f.finder, 7);
                assert!(f.check_started <= f.check_ended);
                f.prime
            })
            .collect();
        let expected: Vec<u64> = (0..=200).filter(|&n| common::work::is_prime_sqrt(n)).collect();
        assert_eq!(got, expected);
        assert_eq!(stats.checked.load(Ordering::Relaxed), 201);
        assert_eq!(stats.primes.load(Ordering::Relaxed), expected.len() as u64);
        assert_eq!(stats.checking.peak(), 1);
        assert_eq!(stages.join_all(), (1, 0));
    }
}

#[test]
fn the_whole_pipeline_delivers_n_primes_and_every_stage_exits() {
    for (finders, n) in [(1, 0), (1, 1), (3, 40), (4, 200)] {
        let mut stages = Stages::default();
        let stats = Arc::new(Stats::default());
        let mut rng = StdRng::seed_from_u64(1);
        let numbers = repeat_fn(move || rng.random_range(0..10_000u64), 0, &mut stages).expect("spawn");
        let finding = Finding {
            check: Check::Sqrt,
            stats: Arc::clone(&stats),
            stop: Stop::new(),
        };
        let streams: Vec<_> = (1..=finders)
            .map(|id| prime_finder(id, numbers.clone(), finding.clone(), 0, &mut stages))
            .collect::<anyhow::Result<_>>()
            .expect("spawn");
        drop(numbers);
        let merged = fan_in(streams, 0, &mut stages).expect("spawn");
        let got: Vec<Found> = take(merged, n, Stop::new(), 0, &mut stages)
            .expect("spawn")
            .iter()
            .collect();
        assert_eq!(got.len() as u64, n);
        assert!(
            got.iter()
                .all(|f| common::work::is_prime_sqrt(f.prime) && f.prime < 10_000)
        );
        assert!(got.iter().all(|f| (1..=finders).contains(&f.finder)));
        let started = stages.handles.len();
        assert_eq!(started, 2 * finders + 2);
        assert_eq!(stages.join_all(), (started, 0));
        assert!(stats.primes.load(Ordering::Relaxed) >= n);
        assert!(stats.checked.load(Ordering::Relaxed) >= stats.primes.load(Ordering::Relaxed));
        assert!(stats.checking.peak() <= finders);
    }
}

#[test]
fn a_stop_shuts_the_whole_pipeline_down() {
    // An endless generator, finders, fan-in and a take that would never be satisfied: only the
    // stop ends it, and every stage thread must still be joined.
    let mut stages = Stages::default();
    let stop = Stop::new();
    let finding = Finding {
        check: Check::Sqrt,
        stats: Arc::new(Stats::default()),
        stop: stop.clone(),
    };
    let mut next = 0u64;
    let numbers = repeat_fn(
        move || {
            next += 1;
            next
        },
        0,
        &mut stages,
    )
    .expect("spawn");
    let streams: Vec<_> = (1..=2)
        .map(|id| prime_finder(id, numbers.clone(), finding.clone(), 0, &mut stages))
        .collect::<anyhow::Result<_>>()
        .expect("spawn");
    drop(numbers);
    let merged = fan_in(streams, 0, &mut stages).expect("spawn");
    let taken = take(merged, u64::MAX, stop.clone(), 0, &mut stages).expect("spawn");
    assert!(taken.recv().is_ok(), "primes flow before the stop");
    stop.set();
    let rest = taken.iter().count(); // ends: `take` returned and dropped its sender
    assert!(rest <= 1, "at most the prime take was forwarding, got {rest}");
    assert_eq!(stages.join_all(), (6, 0));
}
