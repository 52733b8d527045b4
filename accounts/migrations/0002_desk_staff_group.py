from django.db import migrations

DESK_PERMISSIONS = {
    "use_desk": "Can use the staff desk",
    "cancel_order": "Can cancel payment orders",
    "complete_order": "Can complete and book payment orders",
    "book_late_payment": "Can book a payment that arrived after cancellation",
    "book_counter_entry": "Can book counter payments, credit notes, waivers and refunds",
}


def create_desk_staff_group(apps, schema_editor):
    ContentType = apps.get_model("contenttypes", "ContentType")
    Permission = apps.get_model("auth", "Permission")
    Group = apps.get_model("auth", "Group")
    # Permissions are normally created after all migrations; the group needs them now.
    content_type, _ = ContentType.objects.get_or_create(app_label="accounts", model="staffdesk")
    permissions = [
        Permission.objects.get_or_create(
            content_type=content_type, codename=codename, defaults={"name": name}
        )[0]
        for codename, name in DESK_PERMISSIONS.items()
    ]
    group, _ = Group.objects.get_or_create(name="Desk staff")
    group.permissions.add(*permissions)


def remove_desk_staff_group(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name="Desk staff").delete()


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(create_desk_staff_group, remove_desk_staff_group)]
