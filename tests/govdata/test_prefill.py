from xiaobao.govdata.prefill import prefill


def test_fields_come_from_the_data_sources_with_their_source(services_data):
    item = services_data.item("BS-ITEM-005")
    result = prefill(item, services_data.person("demo-citizen-1"), None)
    assert result.fill_rate == 1.0 and result.missing == []
    assert {f.label: (f.value, f.source) for f in result.fields}["出生日期"] == ("1940-03-01", "人口库")


def test_what_nobody_holds_is_asked_and_again_takes_it_from_the_last_application(services_data):
    item = services_data.item("BS-ITEM-001")
    person = services_data.person("demo-citizen-2")
    first = prefill(item, person, None)
    assert first.missing == ["个体户名称", "经营范围"] and first.filled == 6
    previous = next(a for a in services_data.applications("demo-citizen-2") if a["id"] == "BS20240003")
    again = prefill(item, person, None, previous)
    by_label = {f.label: (f.value, f.source) for f in again.fields}
    assert by_label["个体户名称"] == ("宝山区李演示便利店", "上次申请 BS20240003")
    assert by_label["经营者姓名"] == ("李演示", "人口库")  # current data wins over the old form
    assert again.missing == []


def test_enterprise_forms_and_licence_paths(services_data):
    from xiaobao.govdata.prefill import lookup

    enterprise = services_data.enterprise("demo-enterprise-2")
    result = prefill(services_data.item("BS-ITEM-007"), None, enterprise)
    assert result.missing == ["经营项目"]
    assert lookup("enterprise.licence.食品经营许可证.number", None, enterprise) == "JY23101130000001"
    assert lookup("enterprise.licence.没有的证.number", None, enterprise) is None
