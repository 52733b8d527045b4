-- wrk script of bench/http_pages.py: sends the requests of a file, counts every status.
-- Arguments: <requests file> <threads> [once]. Each line of the file is
-- method TAB path TAB cookie TAB header name TAB header value TAB body.
-- Each thread takes every n-th line; with "once" a thread stops after its lines (each
-- webhook delivery books a payment: a repeat would measure something else).

local threads = {}
local counter = 0

function setup(thread)
  thread:set("id", counter)
  counter = counter + 1
  table.insert(threads, thread)
end

function init(args)
  local threads_total = tonumber(args[2])
  once = args[3] == "once"
  requests, statuses, next_index = {}, {}, 1
  local index = 0
  for line in io.lines(args[1]) do
    if index % threads_total == id then
      local method, path, cookie, name, value, body =
        line:match("^([^\t]*)\t([^\t]*)\t([^\t]*)\t([^\t]*)\t([^\t]*)\t(.*)$")
      -- The portal runs as in production, behind a TLS-terminating proxy.
      local headers = {["X-Forwarded-Proto"] = "https"}
      if cookie ~= "" then headers["Cookie"] = cookie end
      if name ~= "" then headers[name] = value end
      if body == "" then body = nil else headers["Content-Type"] = "application/json" end
      table.insert(requests, wrk.format(method, path, headers, body))
    end
    index = index + 1
  end
end

function request()
  local r = requests[next_index]
  next_index = next_index + 1
  if next_index > #requests then
    next_index = 1
    if once then wrk.thread:stop() end
  end
  return r
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency, requests)
  local counts = {}
  for _, thread in ipairs(threads) do
    for status, count in pairs(thread:get("statuses")) do
      counts[status] = (counts[status] or 0) + count
    end
  end
  local parts = {}
  for status, count in pairs(counts) do
    table.insert(parts, string.format('"%d": %d', status, count))
  end
  local e = summary.errors
  io.write(string.format(
    'RESULT {"requests": %d, "seconds": %.3f, "socket_errors": %d, "p50_ms": %.2f, ' ..
    '"p95_ms": %.2f, "p99_ms": %.2f, "statuses": {%s}}\n',
    summary.requests, summary.duration / 1e6, e.connect + e.read + e.write + e.timeout,
    latency:percentile(50) / 1000, latency:percentile(95) / 1000,
    latency:percentile(99) / 1000, table.concat(parts, ", ")))
end
