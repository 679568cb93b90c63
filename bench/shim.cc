// The C++ side of the shim: wraps benchmark::State for C, registers the C
// benchmarks, adds min/max to the aggregates, and hands `--count NAME` to
// the callgrind mode.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstring>
#include <string>

#include "shim.h"

struct jbb_state {
    benchmark::State *st;
};

extern "C" {

void jbb_register(const char *name, jbb_fn fn, void *arg, int threads)
{
    auto *b = benchmark::RegisterBenchmark(
        name, [fn, arg](benchmark::State &st) {
            jbb_state s{&st};
            fn(&s, arg);
        });
    b->ComputeStatistics("min", [](const std::vector<double> &v) {
        return *std::min_element(v.begin(), v.end());
    });
    b->ComputeStatistics("max", [](const std::vector<double> &v) {
        return *std::max_element(v.begin(), v.end());
    });
    if (threads > 1)
        b->Threads(threads);
}

int jbb_running(jbb_state *s)
{
    return s->st->KeepRunning();
}

int jbb_running_batch(jbb_state *s, uint64_t n)
{
    return s->st->KeepRunningBatch(static_cast<benchmark::IterationCount>(n));
}

void jbb_set_counter(jbb_state *s, const char *name, double value)
{
    s->st->counters[name] = value;
}

void jbb_ns_per(jbb_state *s, const char *name, double units_per_iter)
{
    // rate = units * iterations / seconds; inverted: seconds per unit.
    // Scaling units by 1e-9 makes the inverted figure nanoseconds.
    s->st->counters[name] = benchmark::Counter(
        units_per_iter * 1e-9,
        benchmark::Counter::kIsIterationInvariantRate | benchmark::Counter::kInvert);
}

void jbb_label(jbb_state *s, const char *text)
{
    s->st->SetLabel(text);
}

void jbb_skip(jbb_state *s, const char *why)
{
    s->st->SkipWithError(why);
}

int jbb_thread_index(const jbb_state *s)
{
    return s->st->thread_index();
}

void jbb_pause(jbb_state *s)
{
    s->st->PauseTiming();
}

void jbb_resume(jbb_state *s)
{
    s->st->ResumeTiming();
}

} // extern "C"

int main(int argc, char **argv)
{
    if (argc == 3 && !std::strcmp(argv[1], "--count"))
        return jbb_count(argv[2]) == 0 ? 0 : 2;
    jbb_register_all();
    benchmark::Initialize(&argc, argv);
    if (benchmark::ReportUnrecognizedArguments(argc, argv))
        return 1;
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    return 0;
}
