#include "server/event_stream.h"

#include <httplib.h>

namespace kindred::server {

void EventStream::push(std::string chunk) {
  {
    std::lock_guard lock(mutex_);
    if (closed_) return;
    chunks_.push_back(std::move(chunk));
  }
  cv_.notify_all();
}

void EventStream::close() {
  {
    std::lock_guard lock(mutex_);
    closed_ = true;
  }
  cv_.notify_all();
}

std::vector<std::string> EventStream::pop(std::chrono::milliseconds wait, bool* over) {
  std::unique_lock lock(mutex_);
  cv_.wait_for(lock, wait, [&] { return closed_ || !chunks_.empty(); });
  std::vector<std::string> out(std::make_move_iterator(chunks_.begin()), std::make_move_iterator(chunks_.end()));
  chunks_.clear();
  *over = closed_;
  return out;
}

std::string sse_frame(const std::string& data, const std::string& event) {
  std::string out;
  if (!event.empty()) out += "event: " + event + "\n";
  out += "data: " + data + "\n\n";
  return out;
}

void serve_event_stream(httplib::Response& res, std::shared_ptr<EventStream> stream, std::function<void()> poll,
                        std::function<void()> on_disconnect, const std::string& content_type) {
  res.set_header("Cache-Control", "no-cache");
  res.set_header("X-Accel-Buffering", "no");  // proxies must not hold the stream back
  auto finished = std::make_shared<bool>(false);
  res.set_chunked_content_provider(
      content_type,
      [stream, poll, finished](size_t, httplib::DataSink& sink) {
        if (poll) poll();
        bool over = false;
        std::vector<std::string> chunks = stream->pop(std::chrono::milliseconds(100), &over);
        for (const std::string& c : chunks) {
          if (!sink.write(c.data(), c.size())) return false;  // the client went away
        }
        if (over && chunks.empty()) {
          // Drain: a last pop picks up anything pushed between the wait and close().
          *finished = true;
          sink.done();
          return true;
        }
        if (!sink.is_writable()) return false;
        return true;
      },
      [finished, on_disconnect](bool success) {
        if ((!success || !*finished) && on_disconnect) on_disconnect();
      });
}

}  // namespace kindred::server
