//! The machine's own ceiling: two tiny reference loops whose 1-thread and
//! N-thread throughput `riskgate bench` measures in the same rotation as the
//! contenders, so a reader can tell the code's serialisation (locks, shared
//! lines) from the hardware's (cores that are SMT siblings, a shared memory
//! bus).
//!
//! - `alu`: twelve independent integer chains in registers, no memory:
//!   bound by the core's ALU ports, which SMT siblings share (scales about 1.3x on
//!   two siblings, N x on N real cores).
//! - `pointer_chase`: one dependent load after another through a random
//!   cycle over a 64 MB array, each a cache and TLB miss: bound by memory
//!   latency, which overlaps well across siblings (about 1.95x on two).

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::hint::black_box;
use std::time::{Duration, Instant};

/// Bytes of the pointer-chase array.
pub const CHASE_BYTES: usize = 64 << 20;

/// Which reference loop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Loop {
    Alu,
    PointerChase,
}

impl Loop {
    pub const ALL: [Loop; 2] = [Loop::Alu, Loop::PointerChase];

    /// Its name in the JSON document.
    pub fn name(self) -> &'static str {
        match self {
            Loop::Alu => "alu",
            Loop::PointerChase => "pointer_chase",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Loop::Alu => "ALU loop (registers only)",
            Loop::PointerChase => "pointer chase (64 MB)",
        }
    }
}

/// One cache line of the chase: the index of the next line, padding.
#[derive(Clone, Copy)]
#[repr(C, align(64))]
struct Line {
    next: u32,
    _pad: [u32; 15],
}

/// The reference loops, sized to run about a given time on one thread.
pub struct Ceiling {
    lines: Vec<Line>,
    alu_iters: u64,
    chase_steps: u64,
}

/// Independent chains of the ALU loop: many more than the core's integer
/// ports can advance at once, so it is bound by the ports' throughput (which
/// SMT siblings share), not by any one chain's latency.
const LANES: usize = 12;

/// `iters` rounds of [`LANES`] independent shift-xor-add chains.
fn alu(iters: u64, seed: u64) -> u64 {
    let mut l = [0u64; LANES];
    for (i, x) in l.iter_mut().enumerate() {
        *x = seed.wrapping_mul(i as u64 + 1) | 1;
    }
    let mut l = black_box(l);
    let k: [u64; LANES] = std::array::from_fn(|i| 0x9e37_79b9_u64.wrapping_mul(i as u64 + 1));
    for _ in 0..iters {
        for (x, k) in l.iter_mut().zip(k) {
            *x = (*x ^ (*x >> 3)).wrapping_add(k);
        }
    }
    black_box(l.iter().fold(0, |a, x| a ^ x))
}

impl Ceiling {
    /// Builds the chase array (one random cycle through every line) and
    /// sizes both loops to run about `target` each on one thread.
    pub fn new(target: Duration, seed: u64) -> Self {
        let n = CHASE_BYTES / std::mem::size_of::<Line>();
        // Sattolo's algorithm: a random permutation with a single cycle.
        let mut order: Vec<u32> = (0..n as u32).collect();
        let mut rng = StdRng::seed_from_u64(seed ^ 0xce11);
        for i in (1..n).rev() {
            let j = rng.random_range(0..i);
            order.swap(i, j);
        }
        let mut lines = vec![
            Line {
                next: 0,
                _pad: [0; 15]
            };
            n
        ];
        for (i, line) in lines.iter_mut().enumerate() {
            line.next = order[i];
        }
        let mut c = Ceiling {
            lines,
            alu_iters: 1 << 16,
            chase_steps: 1 << 12,
        };
        c.alu_iters = calibrate(target, |k| {
            alu(k, 7);
        });
        c.chase_steps = calibrate(target, |k| {
            c.chase(k, 0);
        });
        c
    }

    fn chase(&self, steps: u64, start: usize) -> u32 {
        let mut i = (start % self.lines.len()) as u32;
        for _ in 0..steps {
            i = self.lines[i as usize].next;
        }
        black_box(i)
    }

    /// Loop iterations per second on `threads` threads, each running the
    /// one-thread amount of work.
    pub fn rate(&self, which: Loop, threads: usize) -> f64 {
        let threads = threads.max(1);
        let per_thread = match which {
            Loop::Alu => self.alu_iters,
            Loop::PointerChase => self.chase_steps,
        };
        let started = Instant::now();
        std::thread::scope(|s| {
            for t in 0..threads {
                s.spawn(move || match which {
                    Loop::Alu => {
                        alu(per_thread, t as u64 + 11);
                    }
                    Loop::PointerChase => {
                        self.chase(per_thread, t * (self.lines.len() / threads + 7919));
                    }
                });
            }
        });
        (per_thread * threads as u64) as f64 / started.elapsed().as_secs_f64()
    }
}

/// The work count that runs about `target` on this thread.
fn calibrate(target: Duration, mut f: impl FnMut(u64)) -> u64 {
    let mut k: u64 = 1 << 12;
    loop {
        let t = Instant::now();
        f(k);
        let took = t.elapsed();
        if took >= Duration::from_millis(20) || k >= 1 << 40 {
            let scaled = k as f64 * target.as_secs_f64() / took.as_secs_f64().max(1e-9);
            return (scaled as u64).max(1);
        }
        k *= 4;
    }
}
