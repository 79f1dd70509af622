//! `s3flow`, the command line of s3flow: a thin front door over the `s3flow` library.
//! `main` only turns the outcome into an exit code; everything else lives in the modules.

mod app;
mod cli;
mod commands;
mod connection_args;
mod output;
mod uri;

// mimalloc, not glibc malloc: under `s3flow serve` load glibc's malloc/free and arena locks
// were ~22 % of the process's CPU (bench/w6/RESULTS.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    app::run()
}

/// mimalloc commits its arenas up front on Linux, which raised a 1 GiB upload's peak RSS from 86
/// to 99 MiB and broke W4's flat-memory bound; committing on demand keeps it at glibc's level. The
/// first arena is reserved before `main` runs, so the option is set from a constructor that runs
/// before mimalloc's own (priority 101). `MIMALLOC_ARENA_EAGER_COMMIT` in the environment still wins.
#[used]
#[cfg_attr(target_os = "linux", link_section = ".init_array.00100")]
static COMMIT_ARENAS_ON_DEMAND: extern "C" fn() = {
    extern "C" fn commit_arenas_on_demand() {
        // libc's getenv, not std::env: nothing may allocate before the option is set.
        // SAFETY: a NUL-terminated name; the setter only writes mimalloc's option table.
        unsafe {
            if getenv(c"MIMALLOC_ARENA_EAGER_COMMIT".as_ptr()).is_null() {
                mi_option_set(ARENA_EAGER_COMMIT, 0);
            }
        }
    }
    commit_arenas_on_demand
};

// Indices into mimalloc v3's `mi_option_t` (mimalloc.h); libmimalloc-sys names only a few.
const ARENA_EAGER_COMMIT: i32 = 4;
#[cfg(test)]
const PURGE_DELAY: i32 = 15;

unsafe extern "C" {
    fn getenv(name: *const std::ffi::c_char) -> *mut std::ffi::c_char;
    fn mi_option_set(option: i32, value: std::ffi::c_long);
    #[cfg(test)]
    fn mi_option_get(option: i32) -> std::ffi::c_long;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arenas_are_committed_on_demand_and_the_option_indices_are_mimallocs() {
        if std::env::var_os("MIMALLOC_ARENA_EAGER_COMMIT").is_none() {
            // Set by the constructor, which runs in this test binary too.
            assert_eq!(unsafe { mi_option_get(ARENA_EAGER_COMMIT) }, 0);
        }
        // The neighbours keep their defaults (v3's src/options.c): purge_decommits = 1, purge_delay = 1000 ms.
        if std::env::var_os("MIMALLOC_PURGE_DECOMMITS").is_none() {
            assert_eq!(unsafe { mi_option_get(ARENA_EAGER_COMMIT + 1) }, 1);
        }
        if std::env::var_os("MIMALLOC_PURGE_DELAY").is_none() {
            assert_eq!(unsafe { mi_option_get(PURGE_DELAY) }, 1000);
        }
    }
}
