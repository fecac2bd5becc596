/* ann.cc - the C API of ann.h over hnswlib's HNSW graph (Debian's libhnswlib-dev).
 *
 * hnswlib is header-only C++ that throws on failure (std::runtime_error, std::bad_alloc),
 * so every entry point catches everything and turns it into a wr_err; no exception may
 * unwind into C. Parallel build: addPoint is safe from several threads (per-node locks),
 * so threads take blocks of rows from a shared counter; only its draw of a node's level
 * reads the shared random generator unlocked, which can repeat a level but nothing worse
 * (ThreadSanitizer reports it; upstream's own parallel build does the same). Searches pass ef as their k: with
 * ef_ left at its default, searchKnn(q, ef) explores max(ef_, ef) candidates, which gives
 * every query its own ef without touching the shared setEf(). */
#include <algorithm>
#include <atomic>
#include <cstdint>
#include <exception>
#include <mutex>
#include <new>
#include <thread>
#include <vector>

/* util.h spells the C11 keyword, which C++ lacks. */
#define _Noreturn [[noreturn]]
extern "C" {
#include "walkrec/ann.h"
#include "walkrec/progress.h"
}
#undef _Noreturn

/* While inserting, hnswlib 0.6.2 prefetches for the link after the last one of a full list,
 * reading 4 bytes past an upper layer's allocation (nmslib/hnswlib#107, open upstream). It
 * only feeds a prefetch and stays inside glibc's chunk, but AddressSanitizer stops on it,
 * so sanitized builds do without hnswlib's SSE code. */
#if defined(__SANITIZE_ADDRESS__)
#define NO_MANUAL_VECTORIZATION
#endif
#include <hnswlib/hnswlib.h>

struct wr_ann {
    size_t dim;
    hnswlib::InnerProductSpace space; /* before graph: the graph keeps a pointer into it */
    hnswlib::HierarchicalNSW<float> graph;

    wr_ann(size_t n, size_t d, const wr_ann_opts *o)
        : dim(d), space(d), graph(&space, n, o->m, o->ef_construction, o->seed)
    {
    }
};

/* Rows per grab from the shared counter: few enough for balance, many enough that the
 * counter and the progress line are not contended. */
#define BUILD_BLOCK 256

void ann_default_opts(wr_ann_opts *o)
{
    o->m = 16;
    o->ef_construction = 200;
    o->threads = 0;
    o->seed = 100;
}

/* The message of whatever was thrown. */
static void fail_current(wr_err *err, const char *what)
{
    try {
        throw;
    } catch (const std::bad_alloc &) {
        wr_fail(err, "%s: out of memory", what);
    } catch (const std::exception &e) {
        wr_fail(err, "%s: %s", what, e.what());
    } catch (...) {
        wr_fail(err, "%s: unknown C++ exception", what);
    }
}

namespace {

/* Shared state of the build threads; the first failure stops them all. */
struct builder {
    wr_ann *a;
    const float *vecs;
    size_t n;
    std::atomic<size_t> next{1}; /* row 0 went in first, alone */
    std::atomic<bool> failed{false};
    std::mutex mu;
    wr_err err{};
    wr_progress progress{};

    void work() noexcept
    {
        try {
            for (;;) {
                size_t r0 = next.fetch_add(BUILD_BLOCK);
                if (r0 >= n || failed.load())
                    return;
                size_t r1 = std::min(n, r0 + BUILD_BLOCK);
                for (size_t r = r0; r < r1; r++)
                    a->graph.addPoint(vecs + r * a->dim, r);
                progress_add(&progress, r1 - r0);
            }
        } catch (...) {
            std::lock_guard<std::mutex> lock(mu);
            if (!failed.exchange(true))
                fail_current(&err, "approximate index");
        }
    }
};

} // namespace

wr_ann *ann_build(const float *vecs, size_t n, size_t dim, const wr_ann_opts *o, wr_err *err)
{
    if (n == 0 || dim == 0) {
        wr_fail(err, "approximate index: no vectors to index (%zu rows x %zu dimensions)", n,
                dim);
        return nullptr;
    }
    if (n >= UINT32_MAX) {
        wr_fail(err, "approximate index: %zu rows, at most %u", n, UINT32_MAX - 1);
        return nullptr;
    }
    if (o->m < 2 || o->ef_construction < 1) {
        wr_fail(err, "approximate index: m must be at least 2 and ef_construction at least 1 "
                     "(got m %u, ef_construction %u)", o->m, o->ef_construction);
        return nullptr;
    }
    wr_ann *a = nullptr;
    try {
        a = new wr_ann(n, dim, o);
        builder b;
        b.a = a;
        b.vecs = vecs;
        b.n = n;
        progress_start(&b.progress, "approximate index", "items", n);
        /* The first node becomes the entry point every other insertion starts from. */
        a->graph.addPoint(vecs, 0);
        progress_add(&b.progress, 1);
        int threads = o->threads > 0 ? o->threads : wr_cpu_count();
        std::vector<std::thread> pool;
        for (int t = 1; t < threads && (size_t)t < n; t++) {
            try {
                pool.emplace_back(&builder::work, &b);
            } catch (...) {
                break; /* no more threads: the ones running (and this one) finish the job */
            }
        }
        b.work();
        for (auto &t : pool)
            t.join();
        progress_end(&b.progress, nullptr);
        if (b.failed) {
            if (err)
                *err = b.err;
            delete a;
            return nullptr;
        }
        return a;
    } catch (...) {
        fail_current(err, "approximate index");
        delete a;
        return nullptr;
    }
}

void ann_free(wr_ann *a)
{
    delete a;
}

static bool better(const wr_hit &x, const wr_hit &y)
{
    return x.score > y.score || (x.score == y.score && x.item < y.item);
}

long ann_search(const wr_ann *a, const float *q, size_t k, size_t ef, uint32_t skip,
                wr_hit *out, wr_err *err)
{
    if (k == 0)
        return 0;
    try {
        auto top = a->graph.searchKnn(q, std::max(ef, k + (skip != UINT32_MAX)));
        std::vector<wr_hit> hits;
        hits.reserve(top.size());
        for (; !top.empty(); top.pop())
            if (top.top().second != skip)
                hits.push_back(wr_hit{(uint32_t)top.top().second, 1.0f - top.top().first});
        size_t got = std::min(k, hits.size());
        std::partial_sort(hits.begin(), hits.begin() + (long)got, hits.end(), better);
        std::copy(hits.begin(), hits.begin() + (long)got, out);
        return (long)got;
    } catch (...) {
        fail_current(err, "approximate search");
        return -1;
    }
}

long ann_search_row(const wr_ann *a, uint32_t row, size_t k, size_t ef, wr_hit *out,
                    wr_err *err)
{
    try {
        const auto &g = a->graph;
        auto at = g.label_lookup_.find(row);
        if (at == g.label_lookup_.end()) {
            wr_fail(err, "approximate search: no row %u", row);
            return -1;
        }
        const float *q = (const float *)g.getDataByInternalId(at->second);
        return ann_search(a, q, k, ef, row, out, err);
    } catch (...) {
        fail_current(err, "approximate search");
        return -1;
    }
}

size_t ann_size(const wr_ann *a)
{
    return a->graph.cur_element_count;
}

size_t ann_memory(const wr_ann *a)
{
    const auto &g = a->graph;
    size_t upper = 0;
    for (size_t i = 0; i < g.cur_element_count; i++)
        if (g.element_levels_[i] > 0)
            upper += g.size_links_per_element_ * (size_t)g.element_levels_[i] + 1;
    /* Per node: its lock, level and upper-layer pointer; a hash node per label. */
    size_t per_node = sizeof(std::mutex) + sizeof(int) + sizeof(char *) +
                      sizeof(std::pair<hnswlib::labeltype, hnswlib::tableint>) + 2 * sizeof(void *);
    return g.max_elements_ * (g.size_data_per_element_ + per_node) + upper +
           g.label_lookup_.bucket_count() * sizeof(void *) +
           g.link_list_update_locks_.size() * sizeof(std::mutex);
}
