// Compiled only into ThreadSanitizer builds (BULWARK_SANITIZE=thread).
//
// librdkafka uses C11 threads: thrd_create, mtx_*, cnd_*, call_once. glibc
// 2.34+ implements them by calling its pthread internals directly, not
// through the pthread_* symbols, so GCC 12's ThreadSanitizer, which
// intercepts only the pthread_* functions, sees none of it:
//  - threads from thrd_create are never set up, and crash in TSan's
//    allocator on their first malloc (every process that talked to Kafka
//    died at start under TSan);
//  - librdkafka's mutexes and condition variables are invisible, so TSan
//    reports its properly locked accesses as races.
// These definitions interpose the C11 functions for the whole process
// (librdkafka's references bind to the executable's symbols first) and do
// the same work through the pthread_* functions, which TSan intercepts. On
// glibc mtx_t, cnd_t, once_flag and thrd_t are the pthread types (same size
// and layout; glibc's own versions cast the same way), thrd_exit stays
// glibc's (pthread_exit), and a thread's int result travels as a
// pointer-sized integer just as glibc's thrd_create and thrd_join pass it.
#include <cerrno>
#include <cstdint>
#include <new>
#include <pthread.h>
#include <threads.h>

namespace {

struct thread_start {
  thrd_start_t fn;
  void* arg;
};

void* run_c11_thread(void* p) {
  const thread_start s = *static_cast<thread_start*>(p);
  delete static_cast<thread_start*>(p);
  return reinterpret_cast<void*>(static_cast<std::intptr_t>(s.fn(s.arg)));
}

int code(int rc) noexcept {
  switch (rc) {
  case 0:
    return thrd_success;
  case EBUSY:
    return thrd_busy;
  case ETIMEDOUT:
    return thrd_timedout;
  case ENOMEM:
    return thrd_nomem;
  default:
    return thrd_error;
  }
}

pthread_mutex_t* as_mutex(mtx_t* m) noexcept {
  return reinterpret_cast<pthread_mutex_t*>(m);
}

pthread_cond_t* as_cond(cnd_t* c) noexcept {
  return reinterpret_cast<pthread_cond_t*>(c);
}

} // namespace

extern "C" {

int mtx_init(mtx_t* m, int type) {
  pthread_mutexattr_t attr;
  pthread_mutexattr_init(&attr);
  if ((type & mtx_recursive) != 0) pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_RECURSIVE);
  const int rc = pthread_mutex_init(as_mutex(m), &attr);
  pthread_mutexattr_destroy(&attr);
  return code(rc);
}

int mtx_lock(mtx_t* m) {
  return code(pthread_mutex_lock(as_mutex(m)));
}

int mtx_trylock(mtx_t* m) {
  return code(pthread_mutex_trylock(as_mutex(m)));
}

int mtx_timedlock(mtx_t* __restrict m, const struct timespec* __restrict t) {
  return code(pthread_mutex_timedlock(as_mutex(m), t));
}

int mtx_unlock(mtx_t* m) {
  return code(pthread_mutex_unlock(as_mutex(m)));
}

void mtx_destroy(mtx_t* m) {
  pthread_mutex_destroy(as_mutex(m));
}

int cnd_init(cnd_t* c) {
  return code(pthread_cond_init(as_cond(c), nullptr));
}

int cnd_signal(cnd_t* c) {
  return code(pthread_cond_signal(as_cond(c)));
}

int cnd_broadcast(cnd_t* c) {
  return code(pthread_cond_broadcast(as_cond(c)));
}

int cnd_wait(cnd_t* c, mtx_t* m) {
  return code(pthread_cond_wait(as_cond(c), as_mutex(m)));
}

int cnd_timedwait(cnd_t* __restrict c, mtx_t* __restrict m, const struct timespec* __restrict t) {
  return code(pthread_cond_timedwait(as_cond(c), as_mutex(m), t));
}

void cnd_destroy(cnd_t* c) {
  pthread_cond_destroy(as_cond(c));
}

void call_once(once_flag* flag, void (*fn)()) {
  pthread_once(reinterpret_cast<pthread_once_t*>(flag), fn);
}

int thrd_create(thrd_t* thr, thrd_start_t fn, void* arg) {
  auto* s = new (std::nothrow) thread_start{fn, arg};
  if (s == nullptr) return thrd_nomem;
  pthread_t t;
  const int rc = pthread_create(&t, nullptr, run_c11_thread, s);
  if (rc != 0) {
    delete s;
    return rc == ENOMEM ? thrd_nomem : thrd_error;
  }
  *thr = t;
  return thrd_success;
}

int thrd_join(thrd_t thr, int* res) {
  void* result = nullptr;
  const int rc = pthread_join(thr, &result);
  if (rc == 0 && res != nullptr) *res = static_cast<int>(reinterpret_cast<std::intptr_t>(result));
  return code(rc);
}

int thrd_detach(thrd_t thr) {
  return code(pthread_detach(thr));
}

} // extern "C"
