//! What the console says, zh-CN first, with en: one table, so a page never
//! shows a key and a missing word is a test failure, not a blank.

use std::collections::BTreeMap;

use crate::domain::appointment::AppointmentState;
use crate::domain::callback::{CallResult, CallbackReason, CallbackState};
use crate::domain::case::{CaseAction, CaseCategory, CaseState, Severity};
use crate::domain::customer::Locale;
use crate::domain::repair_order::OrderState;

/// (key, zh-CN, en)
const WORDS: &[(&str, &str, &str)] = &[
    ("console", "工作台", "Console"),
    ("login", "登录", "Log in"),
    ("logout", "退出", "Log out"),
    ("dealer_code", "经销商代码", "Dealer code"),
    ("dealer", "经销商", "Dealer"),
    ("username", "用户名", "Username"),
    ("password", "密码", "Password"),
    (
        "bad_login",
        "经销商代码、用户名或密码错误",
        "Dealer code, username or password is wrong",
    ),
    (
        "too_many",
        "尝试次数过多，请稍后再试",
        "Too many attempts; try again later",
    ),
    ("board", "看板", "Board"),
    ("trends", "趋势", "Trends"),
    ("callbacks", "回访名单", "Callbacks"),
    ("cases", "不满意客户", "Unhappy customers"),
    ("show", "显示", "Show"),
    ("priority", "优先级", "Priority"),
    ("reason", "类型", "Reason"),
    ("customer", "客户", "Customer"),
    ("visit", "来店", "Visit"),
    ("due", "到期", "Due"),
    ("tries", "未接通次数", "Unanswered"),
    ("known", "已知情况", "Known"),
    ("survey_answered", "已答问卷", "Survey answered"),
    ("open_case", "有未结案件", "Open case"),
    ("claim", "领取", "Claim"),
    ("claimed_by_other", "他人处理中", "Taken"),
    ("claimed_until", "领取至", "Held until"),
    (
        "nothing_to_call",
        "今天没有需要回访的客户",
        "Nobody to call today",
    ),
    ("state", "状态", "State"),
    ("script", "回访话术", "Call script"),
    ("result", "结果", "Result"),
    ("call_back_at", "约定回电时间", "Call back at"),
    ("note", "记录", "Note"),
    ("record", "保存", "Save"),
    ("calls", "通话记录", "Calls"),
    ("when", "时间", "When"),
    ("all_states", "全部状态", "All states"),
    ("overdue_only", "仅超时", "Overdue only"),
    ("opened", "登记时间", "Opened"),
    ("category", "类别", "Category"),
    ("severity", "严重程度", "Severity"),
    ("summary", "内容", "Summary"),
    ("open_a_case", "登记不满意客户", "Open a case"),
    ("customer_phone", "客户手机号", "Customer's phone"),
    ("escalated", "已上报", "Escalated"),
    ("action", "处理", "Action"),
    ("steps", "处理记录", "Steps"),
    ("refreshed", "更新于", "refreshed"),
    ("yesterday", "昨日", "yesterday"),
    ("month_so_far", "本月累计", "month so far"),
    ("workshop", "车间状态", "Workshop"),
    ("at_risk", "交车时间有风险", "Promised times at risk"),
    ("order", "委托书", "Order"),
    ("promised", "承诺交车", "Promised"),
    ("remaining_hours", "剩余工时", "Hours left"),
    ("none_at_risk", "没有风险订单", "Nothing at risk"),
    ("customer_centre", "客户服务中心", "Customer centre"),
    ("callbacks_due", "今日待回访", "Calls due today"),
    ("open_cases", "未结案件", "Open cases"),
    ("overdue_cases", "超时案件", "Overdue cases"),
    ("claimed", "已领取，请拨打电话", "Claimed: call now"),
    ("recorded", "已保存", "Saved"),
    (
        "forbidden",
        "您的角色无权进行此操作",
        "Your role may not do this",
    ),
    (
        "no_customer",
        "没有这个手机号的客户",
        "No customer with this phone",
    ),
    (
        "session_form",
        "页面已过期，请重试",
        "The page expired; try again",
    ),
    ("trends_weeks", "近12周", "last 12 weeks"),
    ("comebacks", "返修统计", "Comebacks"),
    ("month", "月份", "Month"),
    ("this_month", "本月", "This month"),
    ("month_before", "上月", "Month before"),
    ("comeback_causes", "返修原因", "Causes of comebacks"),
    ("cb_orders_delivered", "交车台次", "Orders delivered"),
    ("cb_comebacks", "返修", "Comebacks"),
    ("cb_internal", "内部返工", "Internal reworks"),
    ("cb_comeback_rate", "返修率", "Comeback rate"),
    ("cb_first_time_fix", "一次修复率", "First-time fix"),
    ("cb_redo_cost", "返修成本（元）", "Redo cost (yuan)"),
    ("cb_by_cause", "按原因", "By cause"),
    ("cb_by_technician", "按技师", "By technician"),
    ("cb_by_operation", "按维修项目", "By job"),
    ("cb_by_model", "按车型", "By model"),
    (
        "cb_open_actions",
        "未完成的整改措施",
        "Corrective actions still open",
    ),
    ("cb_owner", "负责人", "Owner"),
    ("cb_download", "下载CSV", "Download CSV"),
    ("kpi_revenue", "营业额（元）", "Revenue (yuan)"),
    ("kpi_vehicles_in", "进厂台次", "Vehicles in"),
    ("kpi_vehicles_delivered", "交车台次", "Vehicles delivered"),
    ("kpi_in_work_at_close", "在修台次", "In the workshop"),
    ("kpi_productivity", "生产率", "Productivity"),
    ("kpi_efficiency", "工作效率", "Efficiency"),
    ("kpi_first_time_fix", "一次修复率", "First-time fix"),
    ("kpi_show_rate", "预约到店率", "Show rate"),
    ("kpi_on_time_delivery", "按时交车率", "On-time delivery"),
    ("kpi_follow_up", "3日内回访率", "Followed up in 3 days"),
    ("kpi_csi", "客户满意度 CSI", "CSI"),
    ("kpi_comeback_rate", "返修率（%）", "Comeback rate (%)"),
    // the case's steps
    ("action_contact", "联系客户", "Contact"),
    ("action_agree", "商定措施", "Agree an action"),
    ("action_resolve", "已解决", "Resolve"),
    ("action_verify", "回访确认", "Verify with the customer"),
    ("action_close", "未解决关闭", "Close unresolved"),
    ("case_open", "待联系", "Open"),
    ("case_contacted", "已联系", "Contacted"),
    ("case_action_agreed", "已商定措施", "Action agreed"),
    ("case_resolved", "已解决", "Resolved"),
    ("case_verified", "已确认", "Verified"),
    ("case_closed_unresolved", "未解决关闭", "Closed unresolved"),
    ("category_quality", "质量", "Quality"),
    ("category_price", "价格", "Price"),
    ("category_attitude", "态度", "Attitude"),
    ("category_time", "时间", "Time"),
    ("category_facilities", "设施", "Facilities"),
    ("category_other", "其他", "Other"),
    ("severity_low", "低", "Low"),
    ("severity_medium", "中", "Medium"),
    ("severity_high", "高", "High"),
    ("reason_follow_up", "维修后回访", "Follow-up"),
    ("reason_case_contact", "不满意客户联系", "Case contact"),
    ("state_queued", "待回访", "To call"),
    ("state_done", "已完成", "Done"),
    ("state_unreachable", "无法联系", "Unreachable"),
    ("result_reached", "已接通", "Reached"),
    ("result_no_answer", "无人接听", "No answer"),
    ("result_wrong_number", "号码错误", "Wrong number"),
    ("result_call_back_at", "约定时间回电", "Call back at"),
    ("result_refused", "拒绝回访", "Refused"),
    ("order_open", "接待中", "At reception"),
    ("order_estimate_accepted", "待派工", "Awaiting work"),
    ("order_in_work", "维修中", "In work"),
    ("order_qc", "质检中", "Quality check"),
    ("order_ready", "待交车", "Ready"),
    ("order_delivered", "已交车", "Delivered"),
    ("order_closed", "已结算", "Closed"),
    ("order_cancelled", "已取消", "Cancelled"),
    // the opening routine (营业准备) and the morning meeting (晨会)
    ("today", "营业准备", "Opening"),
    ("morning_meeting", "晨会", "Morning meeting"),
    ("bookings_today", "今日预约", "Today's bookings"),
    ("by_hour", "按时段", "By hour"),
    ("by_advisor", "按服务顾问", "By advisor"),
    ("unassigned", "未分配", "Unassigned"),
    ("time", "时间", "Time"),
    ("plate", "车牌", "Plate"),
    ("advisor", "服务顾问", "Advisor"),
    ("count", "台数", "Count"),
    ("no_bookings", "今日没有预约", "No bookings today"),
    ("technicians_today", "今日技师", "Technicians today"),
    ("on_shift", "在岗", "On shift"),
    ("absent", "请假", "Absent"),
    ("hours", "工时", "Hours"),
    ("hours_off", "请假工时", "Hours off"),
    ("whole_day", "全天", "Whole day"),
    ("part_of_day", "部分时间", "Part of the day"),
    ("nobody", "无", "Nobody"),
    (
        "promised_today",
        "今日承诺交车（未交车）",
        "Promised today, not delivered",
    ),
    ("none_promised", "今日没有待交车辆", "No car promised today"),
    (
        "yesterday_figures",
        "昨日关键指标",
        "Yesterday's key figures",
    ),
    ("figure", "指标", "Figure"),
    ("value", "实际", "Actual"),
    ("target", "目标", "Target"),
    ("met", "达成", "Met"),
    ("not_met", "未达成", "Missed"),
    ("no_target", "未设目标", "No target"),
    (
        "overdue_list",
        "超时未处理的不满意客户",
        "Overdue unhappy customers",
    ),
    ("none_overdue", "没有超时案件", "Nothing overdue"),
    ("checklist", "营业准备检查", "Opening checklist"),
    ("item", "项目", "Item"),
    ("tick", "确认", "Tick"),
    ("untick", "撤销", "Undo"),
    ("ticked_by", "确认人", "Ticked by"),
    ("open_item", "待确认", "To do"),
    ("done_of", "已完成", "done"),
    ("appt_booked", "已预约", "Booked"),
    ("appt_confirmed", "已确认", "Confirmed"),
    ("appt_checked_in", "已到店", "Checked in"),
    ("appt_cancelled", "已取消", "Cancelled"),
    ("appt_no_show", "未到店", "No-show"),
    ("appt_rescheduled", "已改期", "Rescheduled"),
    ("appt_in_service", "维修中", "In service"),
    ("deputies_today", "今日职务代理", "Deputies today"),
    ("away", "不在岗", "Away"),
    ("deputy", "代理人", "Deputy"),
    ("until", "至", "Until"),
    ("comebacks_waiting", "待处理返修", "Comebacks waiting"),
    ("cbw_open", "待分析", "To analyse"),
    ("cbw_analysed", "待整改", "Action to do"),
    ("cbw_action_done", "待关闭", "To close"),
    ("opened", "登记时间", "Opened"),
    ("none_waiting", "没有待处理的返修", "No comeback waiting"),
    (
        "parts_missing",
        "今日预约缺件",
        "Parts short for today's bookings",
    ),
    ("part", "配件", "Part"),
    ("needed", "需要", "Needed"),
    ("available", "可用", "Available"),
    ("none_missing", "今日预约无缺件", "Nothing short"),
    ("warranty", "索赔", "Warranty"),
    ("wc_to_file", "待提交索赔", "Claims to file"),
    ("wc_to_resubmit", "被驳回待重报", "Rejected, to file again"),
    ("wc_with_brand", "厂家处理中", "With the brand"),
    ("wc_kept", "索赔件库存", "Claimed parts kept"),
    ("wc_claim", "索赔单号", "Claim"),
    ("wc_job", "维修项目", "Job"),
    ("wc_amount", "索赔金额（元）", "Amount (CNY)"),
    ("wc_tag", "标签", "Tag"),
    ("wc_keep_until", "保存至", "Keep until"),
    ("wcs_work_done", "待提交", "Work done"),
    ("wcs_rejected", "已驳回", "Rejected"),
    ("wcs_submitted", "已提交", "Submitted"),
    ("wcs_resubmitted", "已重报", "Resubmitted"),
    ("wcs_approved", "已批准", "Approved"),
    ("parts_desk", "配件", "Parts desk"),
    ("pd_order", "建议订货", "To order now"),
    ("pd_monthly", "月均需求", "Monthly demand"),
    ("pd_lead", "订货周期（天）", "Lead time (days)"),
    ("pd_on_order", "在途", "On order"),
    ("pd_quantity", "建议数量", "Order"),
    ("pd_nothing", "暂无需要订货的配件", "Nothing to order"),
    ("scorecards", "绩效", "Scorecards"),
    ("not_started", "本月未开始", "Not started"),
    ("no_targets", "未设目标", "No targets"),
    ("bonus", "奖金", "Bonus"),
    ("bonus_base", "基数", "base"),
    ("bonus_max", "上限", "at most"),
    ("metric_revenue", "营业额（元）", "Revenue (CNY)"),
    ("metric_appointment_rate", "预约率", "Appointment rate"),
    ("metric_csi", "满意度（CSI）", "CSI"),
    (
        "metric_follow_up_rate",
        "三日回访率",
        "Follow-up within 3 days",
    ),
    (
        "metric_estimate_before_work",
        "先估价后施工",
        "Estimate before work",
    ),
    ("metric_productivity", "生产率", "Productivity"),
    ("metric_efficiency", "效率", "Efficiency"),
    ("metric_comeback_rate", "返修率", "Comeback rate"),
    ("metric_first_time_fix", "一次修复率", "First-time fix"),
    ("metric_on_time_delivery", "按时交车率", "On-time delivery"),
    (
        "metric_vehicles_delivered",
        "交车台次",
        "Vehicles delivered",
    ),
    ("tools", "工具室", "Tool room"),
    (
        "tl_loans",
        "借出中的工具(逾期在前)",
        "Tools out on loan (overdue first)",
    ),
    ("tl_tool", "工具", "Tool"),
    ("tl_borrower", "借用人", "Borrower"),
    ("tl_lent_at", "借出时间", "Lent at"),
    ("tl_due_at", "应还时间", "Due"),
    ("tl_overdue", "已逾期", "Overdue"),
    ("tl_none_out", "没有借出的工具", "No tool out on loan"),
    ("tl_upkeep_due", "本周应保养设备", "Upkeep due this week"),
    ("tl_location", "存放位置", "Location"),
    ("tl_last_upkeep", "上次保养", "Last upkeep"),
    ("tl_next_upkeep", "应保养日期", "Due on"),
    ("tl_never", "从未保养", "Never upkept"),
    (
        "tl_none_due",
        "本周没有应保养的设备",
        "No upkeep due this week",
    ),
];

/// The words of `locale`: every key of [`WORDS`], and every enum value the
/// pages print under its prefix.
pub fn of(locale: Locale) -> BTreeMap<String, &'static str> {
    let mut m: BTreeMap<String, &'static str> = WORDS
        .iter()
        .map(|(k, zh, en)| {
            (
                (*k).to_string(),
                match locale {
                    Locale::ZhCn => *zh,
                    Locale::En => *en,
                },
            )
        })
        .collect();
    // a value this table lacks is printed as its wire name rather than failing the page
    let mut fill = |prefix: &str, values: &[&'static str]| {
        for v in values {
            m.entry(format!("{prefix}{v}")).or_insert(v);
        }
    };
    fill(
        "action_",
        &CaseAction::ALL
            .iter()
            .map(|a| a.as_str())
            .collect::<Vec<_>>(),
    );
    fill(
        "case_",
        &CaseState::ALL
            .iter()
            .map(|a| a.as_str())
            .collect::<Vec<_>>(),
    );
    fill(
        "category_",
        &CaseCategory::ALL
            .iter()
            .map(|a| a.as_str())
            .collect::<Vec<_>>(),
    );
    fill(
        "severity_",
        &Severity::ALL.iter().map(|a| a.as_str()).collect::<Vec<_>>(),
    );
    fill(
        "reason_",
        &CallbackReason::ALL
            .iter()
            .map(|a| a.as_str())
            .collect::<Vec<_>>(),
    );
    fill(
        "state_",
        &CallbackState::ALL
            .iter()
            .map(|a| a.as_str())
            .collect::<Vec<_>>(),
    );
    fill(
        "result_",
        &CallResult::ALL
            .iter()
            .map(|a| a.as_str())
            .collect::<Vec<_>>(),
    );
    fill(
        "order_",
        &OrderState::ALL
            .iter()
            .map(|a| a.as_str())
            .collect::<Vec<_>>(),
    );
    fill(
        "appt_",
        &AppointmentState::ALL
            .iter()
            .map(|a| a.as_str())
            .collect::<Vec<_>>(),
    );
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_enum_value_the_console_prints_has_words_in_both_languages() {
        for locale in [Locale::ZhCn, Locale::En] {
            let t = of(locale);
            for (prefix, values) in [
                (
                    "case_",
                    CaseState::ALL
                        .iter()
                        .map(|v| v.as_str())
                        .collect::<Vec<_>>(),
                ),
                (
                    "action_",
                    CaseAction::ALL.iter().map(|v| v.as_str()).collect(),
                ),
                (
                    "category_",
                    CaseCategory::ALL.iter().map(|v| v.as_str()).collect(),
                ),
                (
                    "result_",
                    CallResult::ALL.iter().map(|v| v.as_str()).collect(),
                ),
                (
                    "order_",
                    OrderState::ALL.iter().map(|v| v.as_str()).collect(),
                ),
                (
                    "appt_",
                    AppointmentState::ALL.iter().map(|v| v.as_str()).collect(),
                ),
            ] {
                for v in values {
                    let w = t[&format!("{prefix}{v}")];
                    assert_ne!(w, v, "{prefix}{v} is not translated ({locale:?})");
                }
            }
        }
        assert_eq!(of(Locale::ZhCn)["board"], "看板");
        assert_eq!(of(Locale::En)["board"], "Board");
    }
}
