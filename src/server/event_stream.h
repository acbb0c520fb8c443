// Server-sent events from the scheduler thread to an HTTP connection. Producers (token callbacks
// on the scheduler thread) push already formatted chunks; the connection's thread drains them.
// When the client goes away the write fails and the stream's on_disconnect cancels the jobs, so
// an abandoned stream frees its slot at the next step.
#pragma once
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace httplib {
struct Response;
}

namespace kindred::server {

class EventStream {
 public:
  void push(std::string chunk);
  // No more chunks will come (after the ones queued).
  void close();
  // Waits up to `wait` for chunks; returns what is queued and whether the stream is over.
  std::vector<std::string> pop(std::chrono::milliseconds wait, bool* over);

 private:
  std::mutex mutex_;
  std::condition_variable cv_;
  std::deque<std::string> chunks_;
  bool closed_ = false;
};

// One SSE frame: optional "event: NAME" line, then "data: DATA", then a blank line.
std::string sse_frame(const std::string& data, const std::string& event = {});

// Serves `stream` as the response body (text/event-stream unless content_type says otherwise).
// `poll` runs whenever the connection thread wakes (about every 100 ms and after each batch of
// chunks): it may push the closing chunks and close the stream once the jobs are done.
// on_disconnect runs once if the client goes away before the stream is over.
void serve_event_stream(httplib::Response& res, std::shared_ptr<EventStream> stream, std::function<void()> poll,
                        std::function<void()> on_disconnect, const std::string& content_type = "text/event-stream");

}  // namespace kindred::server
