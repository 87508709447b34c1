//! Demo file -> scene alignment -> segmentation -> one pose DMP per subtask,
//! re-targeted to moved objects.

use dmgen::demo::{read_demo_auto, SceneFrame};
use dmgen::dmp::{DmpConfig, DmpRunner, PoseDmp};
use dmgen::geom::{Pose, Quat, Vec3};
use dmgen::segment::segment;

#[test]
fn mimicgen_fixture_segments_and_retargets_every_subtask() {
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/stack_mimicgen.hdf5");
    let bytes = std::fs::read(path).unwrap();
    let mut demo = read_demo_auto(&bytes, Some("stack_mimicgen.hdf5"), 0).unwrap();
    demo.align_to_scene(&SceneFrame::default(), None);
    assert!(demo
        .objects
        .iter()
        .all(|o| o.poses[0].pos.z() > 0.0 && o.poses[0].pos.z() < 0.05));
    let spec = segment(&demo).unwrap();
    spec.check_against(&demo).unwrap();
    assert_eq!(spec.subtasks[0].name, "grasp cubeA");
    assert_eq!(spec.subtasks[1].name, "place on cubeB");

    // Each object moved and turned: every subtask's DMP must end on the re-targeted goal.
    let shift = Pose::new(Vec3::new(0.04, -0.05, 0.0), Quat::from_yaw(0.6));
    let mut current = demo.eef[0];
    for st in &spec.subtasks {
        let model = PoseDmp::fit(&demo.eef[st.start..st.end], &DmpConfig::default()).unwrap();
        let j = demo.object_index(&st.object).unwrap();
        let k = if st.object_frame_at_start {
            st.start
        } else {
            st.end - 1
        };
        let src = demo.objects[j].poses[k];
        let moved = Pose::new(src.pos + shift.pos, shift.quat * src.quat);
        let goal = st.goal_pose(&moved);
        let mut run = DmpRunner::new(model, current, goal);
        let mut last = current;
        while !run.is_done() {
            let p = run.step();
            assert!(
                (p.pos - last.pos).norm() < 0.05,
                "{}: jump of {} m",
                st.name,
                (p.pos - last.pos).norm()
            );
            last = p;
        }
        assert!(
            (last.pos - goal.pos).norm() < 1e-3,
            "{}: {} m from goal",
            st.name,
            (last.pos - goal.pos).norm()
        );
        assert!(
            last.quat.angle_to(goal.quat) < 0.01,
            "{}: {} rad from goal",
            st.name,
            last.quat.angle_to(goal.quat)
        );
        current = last;
    }
}
