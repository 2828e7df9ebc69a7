--[[
  KEYS[1] channel lock · KEYS[2] the channel's line
  ARGV[1] the releasing owner ('' = only if nobody holds the channel) · ARGV[2] lease ms
  Returns the job id the channel passed to, '' when it is free now, false when
  someone else holds it (nothing changed).
]]
local holder = redis.call('GET', KEYS[1])
if holder and holder ~= ARGV[1] then return false end
local nextJob = redis.call('LPOP', KEYS[2])
if nextJob then
  redis.call('SET', KEYS[1], nextJob, 'PX', ARGV[2])
  return nextJob
end
if holder then redis.call('DEL', KEYS[1]) end
return ''
