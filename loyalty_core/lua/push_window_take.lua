-- Take one customer-service message from the member's window (the dispatcher's late replies and follow-ups):
-- check and use in one step, so no two senders can overrun the window.
--! uses _push
-- KEYS[1] push facts   ARGV[1] now ms   ARGV[2] window margin ms
local refused = take_window(KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[2]))
if refused then return fail(refused) end
return ok()
