-- The tool calls the dashboard has counted, so a tool call recorded twice (a failure during an outage, then
-- its success on Vapi's redelivery: two ToolInvoked events with one tool-call id) counts once.
create table dashboard_tool_calls (
    tenant_id uuid not null,
    call_id text not null,
    tool_call_id text not null,
    constraint dashboard_tool_calls_pkey primary key (call_id, tool_call_id)
);
select va_enable_tenant_rls('dashboard_tool_calls');
