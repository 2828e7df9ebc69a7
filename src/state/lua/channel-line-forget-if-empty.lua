--[[
  Forgets a channel whose line is empty.
  KEYS[1] the channel's line · KEYS[2] channels with a line
  ARGV[1] channel id
  Returns 1 when it forgot the channel, 0 when someone waits in its line.
]]
if redis.call('LLEN', KEYS[1]) == 0 then
  return redis.call('SREM', KEYS[2], ARGV[1])
end
return 0
