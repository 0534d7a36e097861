trigger SwitchboardAgentWorkTrigger on AgentWork(after update) {
    SwitchboardAgentWorkEvents.onUpdate(Trigger.new, Trigger.oldMap);
}
