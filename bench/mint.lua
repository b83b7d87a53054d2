-- wrk script: every request is a mint with the API key from $KEY.
wrk.method = "POST"
wrk.body = '{"metadata":{"bench":"1"}}'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. os.getenv("KEY")

local failures = 0
response = function(status, headers, body)
  if status ~= 201 then failures = failures + 1 end
end
