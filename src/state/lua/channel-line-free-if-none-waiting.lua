--[[
  Frees the channel only when the owner holds it and nobody waits.
  KEYS[1] channel lock · KEYS[2] the channel's line
  ARGV[1] owner
  Returns 1 when it freed the channel, else 0.
]]
if redis.call('GET', KEYS[1]) == ARGV[1] and redis.call('LLEN', KEYS[2]) == 0 then
  return redis.call('DEL', KEYS[1])
end
return 0
